#include "engine/media/scaler.h"

extern "C" {
#include <libavutil/mem.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include <cstring>
#include <type_traits>

#include "engine/error.h"

namespace hl::media::detail {
namespace {
constexpr int kRowAlign = 64;

// The value of a C enum field of an AVFrame as FFmpeg stored it. A damaged stream can
// put values outside the enum's declared range there (colorspace 65 from an H.264 VUI:
// a finding of tests/fuzz/fuzz_media.cpp, corpus file finding_colorspace_out_of_range),
// and loading such a value as the C++ enum type is undefined behaviour, so the bytes
// are read as the enum's underlying integer instead.
template <typename E>
int enum_value(const E& field) {
  std::underlying_type_t<E> v;
  static_assert(sizeof v == sizeof field);
  std::memcpy(&v, &field, sizeof v);
  return static_cast<int>(v);
}
}  // namespace

RgbScaler::~RgbScaler() {
  for (auto& [key, ctx] : contexts_) sws_freeContext(ctx);
  av_free(scratch_);
}

SwsContext* RgbScaler::context_for(const AVFrame* f, int out_w, int out_h) {
  const int colorspace = enum_value(f->colorspace), color_range = enum_value(f->color_range);
  const Key key{f->width, f->height, f->format, colorspace, color_range, out_w, out_h};
  if (auto it = contexts_.find(key); it != contexts_.end()) return it->second;
  if (contexts_.size() >= 16) {  // sizes keep changing: drop the old ones
    for (auto& [k, c] : contexts_) sws_freeContext(c);
    contexts_.clear();
  }

  // As libavfilter/vf_scale.c (FFmpeg 5.1) config_props does for one progressive frame.
  SwsContext* s = sws_alloc_context();
  if (!s) throw Error("out of memory allocating a SwsContext");
  av_opt_set_int(s, "srcw", f->width, 0);
  av_opt_set_int(s, "srch", f->height, 0);
  av_opt_set_int(s, "src_format", f->format, 0);
  av_opt_set_int(s, "dstw", out_w, 0);
  av_opt_set_int(s, "dsth", out_h, 0);
  av_opt_set_int(s, "dst_format", AV_PIX_FMT_RGB24, 0);
  av_opt_set_int(s, "threads", 1, 0);
  if (!flags_.empty() && av_opt_set(s, "sws_flags", flags_.c_str(), 0) < 0) {
    sws_freeContext(s);
    throw Error("VideoOptions::scale_flags: '" + flags_ +
                "' is not a libswscale flag list (e.g. bicubic, bilinear, area, lanczos, +accurate_rnd)");
  }
  // MPEG-2 chroma siting for 4:2:0 input, as the scale filter sets it.
  if (f->format == AV_PIX_FMT_YUV420P) av_opt_set_int(s, "src_v_chr_pos", 128, 0);
  if (sws_init_context(s, nullptr, nullptr) < 0) {
    sws_freeContext(s);
    return nullptr;
  }

  // Colour details as the scale filter's scale_frame sets them (in_color_matrix=auto):
  // the frame's matrix (BT.601 when unspecified), the frame's range when it says.
  int *inv_table = nullptr, *table = nullptr;
  int in_full = 0, out_full = 0, brightness = 0, contrast = 0, saturation = 0;
  sws_getColorspaceDetails(s, &inv_table, &in_full, &table, &out_full, &brightness, &contrast, &saturation);
  int cs = colorspace;
  if (cs < 1 || cs > 10 || cs == 8) cs = AVCOL_SPC_BT470BG;
  const int* coefficients = sws_getCoefficients(cs);
  if (color_range != AVCOL_RANGE_UNSPECIFIED) in_full = color_range == AVCOL_RANGE_JPEG;
  sws_setColorspaceDetails(s, coefficients, in_full, coefficients, out_full, brightness, contrast, saturation);

  contexts_.emplace(key, s);
  return s;
}

bool RgbScaler::convert(const AVFrame* frame, int out_w, int out_h, uint8_t* dst) {
  if (!sws_isSupportedInput(static_cast<AVPixelFormat>(frame->format))) return false;
  SwsContext* s = context_for(frame, out_w, out_h);
  if (!s) return false;
  const size_t row = static_cast<size_t>(out_w) * 3;
  const size_t stride = (row + kRowAlign - 1) / kRowAlign * kRowAlign;
  const size_t need = stride * static_cast<size_t>(out_h) + kRowAlign;
  if (need > scratch_bytes_) {
    av_free(scratch_);
    scratch_ = static_cast<uint8_t*>(av_malloc(need));
    if (!scratch_) {
      scratch_bytes_ = 0;
      throw Error("out of memory allocating a frame buffer");
    }
    scratch_bytes_ = need;
  }
  uint8_t* planes[4] = {scratch_, nullptr, nullptr, nullptr};
  int strides[4] = {static_cast<int>(stride), 0, 0, 0};
  const int rows = sws_scale(s, frame->data, frame->linesize, 0, frame->height, planes, strides);
  if (rows != out_h) return false;
  for (int y = 0; y < out_h; ++y) std::memcpy(dst + row * y, scratch_ + stride * y, row);
  return true;
}

}  // namespace hl::media::detail
