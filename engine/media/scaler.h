// Internal to engine/media: converts decoded frames to packed RGB24 with libswscale, in
// one step (colour conversion and scaling), configured the way FFmpeg 5.1's scale filter
// configures it, so the result equals `ffmpeg -vf scale=W:H:flags=F,format=rgb24`.
#pragma once
extern "C" {
#include <libavutil/frame.h>
}

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <utility>

struct SwsContext;

namespace hl::media::detail {

class RgbScaler {
 public:
  explicit RgbScaler(std::string flags) : flags_(std::move(flags)) {}
  ~RgbScaler();
  RgbScaler(const RgbScaler&) = delete;
  RgbScaler& operator=(const RgbScaler&) = delete;

  // Converts `frame` to out_w x out_h RGB24 into `dst` (rows of out_w * 3 bytes, packed).
  // Returns false if libswscale cannot read the frame's pixel format.
  bool convert(const AVFrame* frame, int out_w, int out_h, uint8_t* dst);

 private:
  // One context per input size / format / colour description and output size.
  using Key = std::tuple<int, int, int, int, int, int, int>;
  SwsContext* context_for(const AVFrame* frame, int out_w, int out_h);
  std::string flags_;
  std::map<Key, SwsContext*> contexts_;
  uint8_t* scratch_ = nullptr;  // aligned rows, so libswscale's SIMD paths can be used
  size_t scratch_bytes_ = 0;
};

}  // namespace hl::media::detail
