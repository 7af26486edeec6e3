#include "pipeline/cam_features.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "engine/error.h"
#include "engine/log.h"
#include "engine/sha256.h"
#include "nets/multisensory_cuda.h"
#include "weights/weights_dir.h"

#if HL_HAVE_FFMPEG
#include "engine/media/media.h"
#endif

namespace hl {

const char* cam_weights_file() { return "multisensory-cam.safetensors"; }

const char* cam_weights_hint() {
  return "hl-convert multisensory-cam results/nets/cam/net.tf-675000 (the publisher's multisensory-nets.zip; "
         "docs/weights.md says where to download it)";
}

std::vector<int64_t> cam_clip_starts(int64_t frames) {
  if (frames < 1) throw Error("cam: no frames to make clips of");
  std::vector<int64_t> starts;
  for (int64_t s = 0; s + kCamClipFrames <= frames; s += kCamClipFrames) starts.push_back(s);
  if (starts.empty()) return {0};  // shorter than a clip: one padded clip
  if (frames % kCamClipFrames != 0) starts.push_back(frames - kCamClipFrames);
  return starts;
}

int64_t cam_clip_first_sample(int64_t first_frame) {
  // first_frame / (30000 / 1001) * 21000 = first_frame * 7007 / 10, rounded half up.
  const __int128 num = static_cast<__int128>(first_frame) * kCamAudioRate * kCamFpsDen;
  return static_cast<int64_t>((2 * num + kCamFpsNum) / (2 * kCamFpsNum));
}

CamSamplePoint cam_sample_point(int64_t k, int64_t fps_num, int64_t fps_den, int64_t frames) {
  if (fps_num <= 0 || fps_den <= 0) throw Error("cam: the feature frame rate must be positive");
  const std::vector<int64_t> starts = cam_clip_starts(frames);
  // g = k / fps * 29.97 = num / den frames at 29.97 fps, exactly.
  const __int128 num = static_cast<__int128>(k) * fps_den * kCamFpsNum;
  const __int128 den = static_cast<__int128>(fps_num) * kCamFpsDen;
  const auto regular = static_cast<int64_t>(frames / kCamClipFrames);  // clips starting at multiples of 125
  const auto c = static_cast<int64_t>(num / (den * kCamClipFrames));
  CamSamplePoint p;
  p.clip = c < regular ? c : static_cast<int64_t>(starts.size()) - 1;
  const double local =
      static_cast<double>(num - static_cast<__int128>(starts[p.clip]) * den) / static_cast<double>(den);
  // The publisher's per-frame interpolation (sep_video.heatmap): f = steps * i / frames.
  const double f = std::clamp(static_cast<double>(kCamSteps) * local / static_cast<double>(kCamClipFrames), 0.0,
                              static_cast<double>(kCamSteps - 1));
  p.left = static_cast<int64_t>(std::floor(f));
  p.right = std::min(p.left + 1, kCamSteps - 1);
  p.weight_right = f - static_cast<double>(p.left);
  return p;
}

void cam_resize_frame(const uint8_t* rgb, int64_t height, int64_t width, int64_t out, float* dst) {
  // TensorFlow's resize_bilinear with the legacy scaler, in f32 as TensorFlow computes it:
  // scale = in / out, source = dest * scale, lower = floor, upper = min(lower + 1, in - 1).
  const float sy = static_cast<float>(height) / static_cast<float>(out);
  const float sx = static_cast<float>(width) / static_cast<float>(out);
  std::vector<int64_t> x0(static_cast<size_t>(out)), x1(static_cast<size_t>(out));
  std::vector<float> xl(static_cast<size_t>(out));
  for (int64_t x = 0; x < out; ++x) {
    const float in = static_cast<float>(x) * sx;
    x0[x] = std::min<int64_t>(static_cast<int64_t>(std::floor(in)), width - 1);
    x1[x] = std::min<int64_t>(x0[x] + 1, width - 1);
    xl[x] = in - std::floor(in);
  }
  for (int64_t y = 0; y < out; ++y) {
    const float in = static_cast<float>(y) * sy;
    const int64_t y0 = std::min<int64_t>(static_cast<int64_t>(std::floor(in)), height - 1);
    const int64_t y1 = std::min<int64_t>(y0 + 1, height - 1);
    const float yl = in - std::floor(in);
    const uint8_t* top = rgb + y0 * width * 3;
    const uint8_t* bottom = rgb + y1 * width * 3;
    for (int64_t x = 0; x < out; ++x)
      for (int64_t c = 0; c < 3; ++c) {
        const float tl = top[x0[x] * 3 + c], tr = top[x1[x] * 3 + c];
        const float bl = bottom[x0[x] * 3 + c], br = bottom[x1[x] * 3 + c];
        const float t = tl + (tr - tl) * xl[x];
        const float b = bl + (br - bl) * xl[x];
        const float v = t + (b - t) * yl;
        dst[(y * out + x) * 3 + c] = -1.0f + (2.0f / 255.0f) * v;  // tfutil.normalize_ims
      }
  }
}

namespace {

class CpuCamNet final : public CamNet {
 public:
  explicit CpuCamNet(MultisensoryCpu net) : net_(std::move(net)) {}
  MultisensoryResult run(const float* images, int64_t frames, int64_t height, int64_t width, const float* samples,
                         int64_t n_samples) const override {
    return net_.run(images, frames, height, width, samples, n_samples);
  }

 private:
  MultisensoryCpu net_;
};

// nets/multisensory_cuda.h in f16 (tensor cores, f32 accumulation): within 1e-2 of the CPU.
class CudaCamNet final : public CamNet {
 public:
  explicit CudaCamNet(MultisensoryCuda net) : net_(std::move(net)) {}
  MultisensoryResult run(const float* images, int64_t frames, int64_t height, int64_t width, const float* samples,
                         int64_t n_samples) const override {
    return net_.run(images, frames, height, width, samples, n_samples);
  }

 private:
  MultisensoryCuda net_;
};

[[noreturn]] void refuse_shift_net(const std::string& path) {
  throw FormatError(path, "holds the shift network (multisensory-shift); the cam feature needs the CAM network: " +
                              std::string(cam_weights_hint()));
}

}  // namespace

std::unique_ptr<CamNet> load_cam_net(const std::string& path, Device device) {
  if (device.is_cuda()) {
    MultisensoryCudaOptions o;
    o.device = device.index;
    o.f16 = true;
    MultisensoryCuda net = MultisensoryCuda::load(path, o);
    if (!net.cam_model()) refuse_shift_net(path);
    return std::make_unique<CudaCamNet>(std::move(net));
  }
  MultisensoryCpu net = MultisensoryCpu::load(path);
  if (!net.cam_model()) refuse_shift_net(path);
  return std::make_unique<CpuCamNet>(std::move(net));
}

CamFeatureExtractor::CamFeatureExtractor(const CamFeatureOptions& options) {
  const std::string path = require_weights_file(cam_weights_file(), cam_weights_hint(), options.weights_dir).string();
  weights_sha256_ = sha256_file(path);
  net_ = load_cam_net(path, options.device);
  precision_ = options.device.is_cpu() ? "f32 cpu" : "f16 cuda";
  HL_LOG(Info) << "cam: weights " << path << " on " << (options.device.is_cpu() ? "cpu f32" : options.device.str() + " f16");
}

#if HL_HAVE_FFMPEG
namespace {

// The clip's 87,588 stereo samples, interleaved [n, 2], from planar `audio` [2, n]:
// sample j is audio[first + j], silence outside the stream.
void clip_samples(const media::Audio& audio, int64_t first, std::vector<float>& out) {
  const int64_t n = audio.samples.size(1);
  const float* left = audio.samples.data<float>();
  const float* right = left + n;
  out.assign(static_cast<size_t>(kCamClipSamples * 2), 0.0f);
  for (int64_t j = 0; j < kCamClipSamples; ++j) {
    const int64_t i = first + j;
    if (i < 0 || i >= n) continue;
    out[2 * j] = left[i];
    out[2 * j + 1] = right[i];
  }
}

media::Limits cam_limits(const media::MediaInfo& info) {
  media::Limits limits;  // as pipeline/extract.cpp's: room for long files
  limits.deadline_seconds =
      std::max(limits.deadline_seconds, 600.0 + 2.0 * std::min(info.duration_seconds, 6 * 3600.0));
  return limits;
}

constexpr int64_t kFrameFloats = kCamImageSize * kCamImageSize * 3;

}  // namespace

struct CamSession::Impl {
  const CamNet* net = nullptr;
  std::string input;
  media::Audio audio;  // 21 kHz stereo, planar [2, n]
  std::function<void(int64_t, int64_t)> progress;
  // The last 125 frames, [125, 224, 224, 3]: frame f in slot f % 125, so a clip that
  // starts at a multiple of 125 is the ring itself.
  std::vector<float> ring = std::vector<float>(static_cast<size_t>(kCamClipFrames * kFrameFloats));
  std::vector<float> samples;
  std::map<int64_t, std::vector<float>> cams;  // clip start -> [16, 14, 14]
  int64_t n = 0;                               // frames pushed
  int64_t shift_samples = 0;                   // the audio's start after the first frame, in samples

  void run_clip(int64_t start, const float* images) {
    clip_samples(audio, cam_clip_first_sample(start) - shift_samples, samples);
    const MultisensoryResult r =
        net->run(images, kCamClipFrames, kCamImageSize, kCamImageSize, samples.data(), kCamClipSamples);
    if (r.steps != kCamSteps || r.height != kCamMapSize || r.width != kCamMapSize)
      throw Error("cam: the network gave a [" + std::to_string(r.steps) + ", " + std::to_string(r.height) + ", " +
                  std::to_string(r.width) + "] map, not [16, 14, 14]");
    cams[start] = r.cam;
    if (progress) progress(static_cast<int64_t>(cams.size()), -1);
  }
};

CamSession::CamSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CamSession::~CamSession() = default;
int64_t CamSession::frames_pushed() const { return impl_->n; }

void CamSession::push(const Tensor& rgb, double video_start_seconds) {
  Impl& s = *impl_;
  if (rgb.ndim() != 3 || rgb.size(2) != 3 || rgb.dtype() != DType::U8 || !rgb.device().is_cpu())
    throw Error("cam: a frame is not u8 [H, W, 3] on the CPU");
  if (s.n == 0) {
    const double shift = std::round((s.audio.start_seconds - video_start_seconds) * kCamAudioRate);
    s.shift_samples = std::isfinite(shift) ? static_cast<int64_t>(std::clamp(shift, -1e15, 1e15)) : 0;
  }
  cam_resize_frame(rgb.data<uint8_t>(), rgb.size(0), rgb.size(1), kCamImageSize,
                   s.ring.data() + (s.n % kCamClipFrames) * kFrameFloats);
  ++s.n;
  if (s.n % kCamClipFrames == 0) s.run_clip(s.n - kCamClipFrames, s.ring.data());
}

Tensor CamSession::finish(int64_t frames, int64_t fps_num, int64_t fps_den) {
  Impl& s = *impl_;
  if (s.n == 0) throw FormatError(s.input, "has no video frames; cam needs them");
  if (frames < 1) throw FormatError(s.input, "cam: no feature frames");
  const int64_t n = s.n;
  if (n % kCamClipFrames != 0) {
    // The end-aligned clip (frames n - 125 .. n - 1), or the whole video padded with its
    // last frame when it is shorter than a clip.
    std::vector<float> clip(s.ring.size());
    const int64_t start = std::max<int64_t>(0, n - kCamClipFrames);
    for (int64_t i = 0; i < kCamClipFrames; ++i) {
      const int64_t frame = std::min(start + i, n - 1);
      std::copy_n(s.ring.data() + (frame % kCamClipFrames) * kFrameFloats, kFrameFloats,
                  clip.data() + i * kFrameFloats);
    }
    s.run_clip(start, clip.data());
  }

  // Each feature frame: the publisher's linear interpolation between two steps.
  const std::vector<int64_t> starts = cam_clip_starts(n);
  constexpr int64_t kMap = kCamMapSize * kCamMapSize;
  Tensor out = Tensor::empty(Shape{frames, kCamMapSize, kCamMapSize}, DType::F32);
  float* o = out.data<float>();
  for (int64_t k = 0; k < frames; ++k) {
    const CamSamplePoint p = cam_sample_point(k, fps_num, fps_den, n);
    const std::vector<float>& cam = s.cams.at(starts[p.clip]);
    const auto w = static_cast<float>(p.weight_right);
    for (int64_t i = 0; i < kMap; ++i)
      o[k * kMap + i] = (1.0f - w) * cam[p.left * kMap + i] + w * cam[p.right * kMap + i];
  }
  return out;
}

std::unique_ptr<CamSession> CamFeatureExtractor::begin(const std::string& input,
                                                       const std::function<void(int64_t, int64_t)>& progress) const {
  const media::MediaInfo info = media::probe(input);
  if (!info.video) throw FormatError(input, "has no video stream; cam needs one");
  if (info.audio.empty())
    throw FormatError(input, "has no audio stream; cam needs one (the Multisensory network listens as it looks)");
  auto impl = std::make_unique<CamSession::Impl>();
  impl->net = net_.get();
  impl->input = input;
  impl->progress = progress;
  media::AudioOptions ao;
  ao.sample_rate = kCamAudioRate;
  ao.channels = 2;
  ao.limits = cam_limits(info);
  impl->audio = media::decode_audio(input, ao);
  return std::make_unique<CamSession>(std::move(impl));
}

Tensor CamFeatureExtractor::run(const std::string& input, int64_t frames, int64_t fps_num, int64_t fps_den,
                                const std::function<void(int64_t, int64_t)>& progress) const {
  const std::unique_ptr<CamSession> session = begin(input, progress);
  media::VideoOptions vo;
  vo.rate = {kCamFpsNum, kCamFpsDen};
  vo.limits = cam_limits(media::probe(input));  // each frame at its own size: cam_resize_frame resizes it
  vo.queue_frames = 4;
  media::VideoReader reader(input, vo);
  HL_LOG(Debug) << "video decoding pass: " << input << " at 30000/1001 fps (cam)";
  media::VideoFrame f;
  while (reader.next(&f)) session->push(f.rgb, reader.start_seconds());
  return session->finish(frames, fps_num, fps_den);
}
#else
struct CamSession::Impl {};
CamSession::CamSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CamSession::~CamSession() = default;
int64_t CamSession::frames_pushed() const { return 0; }
void CamSession::push(const Tensor&, double) { throw Error("this hl was built without FFmpeg (-DHL_FFMPEG=OFF)"); }
Tensor CamSession::finish(int64_t, int64_t, int64_t) {
  throw Error("this hl was built without FFmpeg (-DHL_FFMPEG=OFF)");
}
std::unique_ptr<CamSession> CamFeatureExtractor::begin(const std::string& input,
                                                       const std::function<void(int64_t, int64_t)>&) const {
  throw FormatError(input, "this hl was built without FFmpeg (-DHL_FFMPEG=OFF), so it cannot decode media");
}
Tensor CamFeatureExtractor::run(const std::string& input, int64_t, int64_t, int64_t,
                                const std::function<void(int64_t, int64_t)>&) const {
  throw FormatError(input, "this hl was built without FFmpeg (-DHL_FFMPEG=OFF), so it cannot decode media");
}
#endif

}  // namespace hl
