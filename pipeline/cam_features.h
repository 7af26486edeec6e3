// The `cam` feature (docs/features.md, "cam"): the class activation map of Owens & Efros'
// Multisensory network (cam_v1, nets/multisensory.h), [T, 14, 14] per feature frame.
//
// Inputs as the publisher prepares them (andrewowens/multisensory sep_video.py,
// shift_net.NetClf.predict_cam_resize), whatever --fps the other features use:
//   frames  the video's frames at 29.97 fps (30000/1001; engine/media's tick rule), each
//           resized to 224 x 224 by TensorFlow 1's tf.image.resize_images (bilinear,
//           align_corners=False, half_pixel_centers=False: source = dest * in / out) in
//           f32, then scaled to [-1, 1] (-1 + 2/255 x). (The publisher first caps the
//           height at 600 with ffmpeg's bicubic scale; we resize the decoded frame
//           directly.)
//   audio   the first audio stream at 21 kHz stereo as libswresample gives it (the
//           publisher's `ffmpeg -ar 21000 -ac 2`; a mono source goes to both channels
//           at 1/sqrt(2), libswresample's default upmix, as that command gives it), in
//           [-1, 1), aligned with the first frame like the MFCC's (a later start is
//           silence in front).
//   clips   125 frames and the 87,588 samples that start with the clip's first frame
//           (sample round(f0 * 21000 / 29.97)); non-overlapping clips from frame 0, and
//           when the frame count N is not a multiple of 125 one more clip aligned to the
//           end (frames N - 125 .. N - 1). A video shorter than one clip repeats its last
//           frame up to 125; audio beyond the stream is silence (zeros).
//   output  the CAM is joint/logits at every position of the last conv, signed (the
//           logit's contribution: the publisher takes abs() only to draw it; the highlight
//           model normalises it and learns from the sign too), 16 steps x 14 x 14 per clip.
//           Feature frame k (time k / fps from the first frame) sits at position
//           g = k / fps * 29.97 in 29.97-fps frames; its clip is the regular clip holding
//           g, or the end-aligned clip past the last regular one; inside the clip at
//           local frame i = g - start the map is the publisher's linear interpolation
//           (sep_video.heatmap): f = 16 i / 125 clamped to [0, 15], l = floor(f),
//           r = min(l + 1, 15), (1 - (f - l)) cam[l] + (f - l) cam[r].
// Decoding: the video's one decoding pass at --fps, which picks cam's 29.97-fps frames
// from the same decoded frames by the same tick rule (media::VideoOptions::second_rate;
// CamSession fed by pipeline/extract.cpp); run() decodes on its own only when nothing
// else needs the video decoded (T known from kept features).
//
// Weights: multisensory-cam.safetensors in the weights folder, made by hl-convert
// multisensory-cam; a missing file is an hl::Error naming it and the command.
// Tests: tests/tools/test_hl_extract_cam.cpp (hl-extract against the ffmpeg command
// line's frames and audio, clips and interpolation done in the test, the net run
// through MultisensoryCpu; the shared decoding pass too), tests/pipeline/test_cam_features.cpp
// (the resize against TensorFlow, the clip plan, the interpolation points),
// tests/nets/test_multisensory_load.cpp (damaged and hostile weight files).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/device.h"
#include "engine/tensor.h"
#include "nets/multisensory.h"

namespace hl {

inline constexpr int64_t kCamClipFrames = 125;     // int(4.2 s * 29.97)
inline constexpr int64_t kCamClipSamples = 87588;  // round(21000 / 29.97 * 125)
inline constexpr int kCamAudioRate = 21000;
inline constexpr int64_t kCamFpsNum = 30000, kCamFpsDen = 1001;  // 29.97
inline constexpr int64_t kCamImageSize = 224;
inline constexpr int64_t kCamSteps = 16, kCamMapSize = 14;  // the CAM of one clip: [16, 14, 14]

const char* cam_weights_file();  // "multisensory-cam.safetensors"
const char* cam_weights_hint();  // the hl-convert command that makes it

// --- The arithmetic of the clips (no decoding) ---

// First frames of the clips over `frames` (>= 1) frames at 29.97 fps: 0, 125, 250, ...
// and, when frames % 125 != 0 and frames > 125, frames - 125. {0} when frames <= 125.
std::vector<int64_t> cam_clip_starts(int64_t frames);
// The first sample (21 kHz, relative to the first frame) of a clip starting at frame f0:
// round(f0 * 21000 * 1001 / 30000), halves up.
int64_t cam_clip_first_sample(int64_t first_frame);

// Where feature frame `k` at fps num/den reads the CAMs: clip index into
// cam_clip_starts(frames), steps l and r, and weight p of r.
struct CamSamplePoint {
  int64_t clip = 0, left = 0, right = 0;
  double weight_right = 0;
};
CamSamplePoint cam_sample_point(int64_t k, int64_t fps_num, int64_t fps_den, int64_t frames);

// TensorFlow 1's tf.image.resize_images (bilinear, legacy: align_corners=False,
// half_pixel_centers=False) of u8 RGB [h, w, 3] to [out, out, 3] f32, then -1 + 2/255 x.
void cam_resize_frame(const uint8_t* rgb, int64_t height, int64_t width, int64_t out, float* dst);

// --- The network, on a device ---

// One CAM network on one device: run() as MultisensoryCpu::run.
class CamNet {
 public:
  virtual ~CamNet() = default;
  virtual MultisensoryResult run(const float* images, int64_t frames, int64_t height, int64_t width,
                                 const float* samples, int64_t n_samples) const = 0;
};
// Loads `path` (a multisensory-cam file; a shift net is refused: its CAM is 7 x 7) for
// `device`: MultisensoryCpu (f32), or MultisensoryCuda in f16 on a CUDA device
// (nets/multisensory_cuda.h; not yet run on a GPU, docs/gpu-status.md). Throws hl::Error
// for a bad file, or CUDA unavailable.
std::unique_ptr<CamNet> load_cam_net(const std::string& path, Device device);

// One video's CAM from frames fed one at a time: the frames at 29.97 fps in order (u8
// [H, W, 3] CPU, any size), from CamFeatureExtractor::run's own decoder or from the
// video's one decoding pass in pipeline/extract.cpp (its second rate when --fps is not
// 29.97). A clip runs as soon as its 125th frame
// arrives; finish() runs the end-aligned (or padded) clip and interpolates. Not
// thread-safe; push() may run on another thread than begin() if calls do not overlap.
class CamSession {
 public:
  ~CamSession();
  CamSession(const CamSession&) = delete;
  CamSession& operator=(const CamSession&) = delete;
  // video_start_seconds: the first frame's timestamp (engine/media's VideoReader::
  // start_seconds()), read at the first push to align the audio.
  void push(const Tensor& rgb, double video_start_seconds);
  int64_t frames_pushed() const;
  // [frames, 14, 14] at fps_num/fps_den. Throws hl::Error when no frame was pushed.
  Tensor finish(int64_t frames, int64_t fps_num, int64_t fps_den);

  struct Impl;
  explicit CamSession(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

struct CamFeatureOptions {
  std::string weights_dir;  // --weights ("" = $HL_WEIGHTS, else the per-user folder)
  Device device = Device::cpu();
};

class CamFeatureExtractor {
 public:
  // Loads the weights. Throws hl::Error for a missing or bad file, or an unsupported device.
  explicit CamFeatureExtractor(const CamFeatureOptions& options);
  const std::string& weights_sha256() const { return weights_sha256_; }
  // "f32 cpu" or "f16 cuda" (part of the extractor name: the two differ slightly).
  const std::string& precision() const { return precision_; }

  // The CAM of `input` at `frames` feature frames of fps_num/fps_den: f32 [frames, 14, 14].
  // Decodes the video at 29.97 fps and the audio at 21 kHz stereo (engine/media).
  // progress(clips done, -1) after each clip (the total is known only at the end). Throws hl::FormatError naming the
  // input for a file without video or audio.
  Tensor run(const std::string& input, int64_t frames, int64_t fps_num, int64_t fps_den,
             const std::function<void(int64_t, int64_t)>& progress = nullptr) const;
  // A session for `input` whose frames the caller decodes at 29.97 fps: checks the
  // streams and decodes the audio now (hl::FormatError naming the input).
  std::unique_ptr<CamSession> begin(const std::string& input,
                                    const std::function<void(int64_t, int64_t)>& progress = nullptr) const;

 private:
  std::unique_ptr<CamNet> net_;
  std::string weights_sha256_;
  std::string precision_;
};

}  // namespace hl
