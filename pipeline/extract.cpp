#include "pipeline/extract.h"

#include <algorithm>
#include <cmath>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <numeric>
#include <utility>

#include "engine/error.h"
#include "engine/image.h"
#include "engine/log.h"
#include "engine/parse_number.h"
#include "engine/safetensors.h"
#include "nets/mfcc.h"
#include "pipeline/feature_file.h"

#if HL_HAVE_FFMPEG
#include "engine/media/media.h"
#endif

namespace hl {

SourceFingerprint fingerprint_file(const std::string& path) {
  SourceFingerprint fp;
  fp.sha256 = sha256_file(path, &fp.size);
  return fp;
}

// ---------------------------------------------------------------------------------------
// Naming and sharding

std::string video_id(const std::string& input_path) {
  return std::filesystem::path(input_path).stem().string();
}


std::vector<std::string> find_duplicate_ids(const std::vector<std::string>& inputs) {
  std::map<std::string, std::vector<std::string>> by_id;
  std::vector<std::string> order;
  for (const std::string& in : inputs) {
    auto& list = by_id[video_id(in)];
    if (list.size() == 1) order.push_back(video_id(in));
    list.push_back(in);
  }
  std::vector<std::string> out;
  for (const std::string& id : order) {
    std::string line = "id '" + id + "': ";
    const auto& list = by_id[id];
    for (size_t i = 0; i < list.size(); ++i) line += (i ? (i + 1 == list.size() ? " and " : ", ") : "") + list[i];
    out.push_back(line);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Features and their extractors

void check_extractable(Feature f) {
  switch (f) {
    case Feature::Mfcc:
    case Feature::GoogLeNet:
    case Feature::Places365:
    case Feature::Faces:
    case Feature::Affect:
    case Feature::Cam:
      return;
  }
  throw Error("unknown feature");
}

void check_feature_rate(FrameRate fps) {
  // Cross-multiplied in 128 bits: exact for any int64 numerator and denominator.
  using Wide = __int128;
  const bool positive = fps.num > 0 && fps.den > 0;
  const bool above_min = positive && Wide{fps.num} * kMinFeatureRate.den >= Wide{kMinFeatureRate.num} * fps.den;
  const bool below_max = positive && Wide{fps.num} * kMaxFeatureRate.den <= Wide{kMaxFeatureRate.num} * fps.den;
  // The MFCC step's rational (mfcc_params_for) keeps numerator and denominator below 1e9.
  const bool small_terms = fps.num <= 1'000'000'000 && fps.den <= 1'000'000'000;
  if (!above_min || !below_max || !small_terms) {
    const double value = positive ? static_cast<double>(fps.num) / static_cast<double>(fps.den) : 0.0;
    char text[64];
    std::snprintf(text, sizeof text, "%.6g", value);
    throw Error("frame rate " + std::to_string(fps.num) + "/" + std::to_string(fps.den) + " (" + text +
                " fps) is outside the range hl-extract accepts, 1/5 to 1000 fps (a 5-s segment needs at least "
                "one frame)" +
                (small_terms ? "" : "; numerator and denominator must be at most 1000000000"));
  }
}


std::string extractor_name(Feature f, FrameRate fps, const std::string& precision, int64_t faces_step) {
  check_extractable(f);
  char text[384];  // the longest name (affect, 10-digit rational fps, 19-digit step) is 316
  // Faces and affect run in f32 on either device: "f32 cpu" or "f32 cuda"
  // (visual_feature_precision, pipeline/visual_features.h).
  if (f == Feature::Faces) {
    std::snprintf(text, sizeof text,
                  "hl faces v1: facenet-pytorch 2.6.0 MTCNN detect_face (min face 20, factor 0.709, thresholds "
                  "0.6/0.7/0.7), area of the most confident face clipped to the frame / frame area, 0 without, "
                  "frames at %s fps by pts, detected every %lld frames (held), %s",
                  frame_rate_string(fps).c_str(), static_cast<long long>(faces_step), precision.c_str());
    return text;
  }
  if (f == Feature::Affect) {
    std::snprintf(text, sizeof text,
                  "hl affect v1: fer 22.5.1 mini-Xception, mean of add_4 [128], on fer's crop "
                  "(offsets 10, padding 40, OpenCV grey and INTER_LINEAR 64x64, [-1, 1]) of the most confident "
                  "facenet-pytorch 2.6.0 MTCNN face, 0 without, frames at %s fps by pts, detected every %lld "
                  "frames (held), %s",
                  frame_rate_string(fps).c_str(), static_cast<long long>(faces_step), precision.c_str());
    return text;
  }
  if (f == Feature::Cam) {  // pipeline/cam_features.h
    char cam[640];
    std::snprintf(cam, sizeof cam,
                  "hl cam v1: Owens & Efros Multisensory cam_v1, joint/logits at every position (signed) [16, 14, "
                  "14] per clip of 125 frames at 29.97 fps by pts (TF1 bilinear resize to 224x224, [-1, 1]) and "
                  "87588 samples of 21 kHz stereo, clips every 125 frames plus one aligned to the end, last frame "
                  "repeated below 125, linear in time (sep_video.heatmap) to frames at %s fps, %s",
                  frame_rate_string(fps).c_str(), precision.c_str());
    return cam;
  }
  if (f == Feature::GoogLeNet || f == Feature::Places365) {
    const bool g = f == Feature::GoogLeNet;
    std::snprintf(text, sizeof text,
                  "hl %s v1: %s, frames at %s fps by pts, PIL bilinear Resize(%s) + CenterCrop(224), "
                  "ImageNet mean/std, global average pool [%d], %s",
                  g ? "googlenet" : "places365", g ? "torchvision GoogLeNet (transform_input)" : "Places365 ResNet50",
                  frame_rate_string(fps).c_str(), g ? "256" : "(256, 256)", g ? 1024 : 2048, precision.c_str());
    return text;
  }
  const MfccParams p = mfcc_params_for(fps);
  std::snprintf(text, sizeof text,
                "hl mfcc v1: python_speech_features pipeline, %d Hz mono x32768, window %d, step %lld/%lld "
                "samples exact (1/(4 fps)), nfft %d, %d filters, %d cepstra, preemphasis %.2f, lifter %d, "
                "c0 log energy",
                p.sample_rate, p.window, static_cast<long long>(p.step_num), static_cast<long long>(p.step_den),
                p.nfft, p.filters, p.cepstra, static_cast<double>(p.preemphasis), p.lifter);
  return text;
}

bool is_still_image(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  unsigned char head[8] = {};
  const size_t n = std::fread(head, 1, sizeof head, f);
  std::fclose(f);
  static const unsigned char kPng[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  const bool png = n == 8 && std::memcmp(head, kPng, 8) == 0;
  const bool jpeg = n >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF;
  return png || jpeg;
}

// ---------------------------------------------------------------------------------------
// Existing files

namespace {

bool contains(const std::vector<Feature>& v, Feature f) { return std::find(v.begin(), v.end(), f) != v.end(); }

std::string meta_or(const std::map<std::string, std::string>& m, const std::string& key, const std::string& dflt) {
  const auto it = m.find(key);
  return it == m.end() ? dflt : it->second;
}


}  // namespace

ExistingFile inspect_feature_file(const std::string& path, const SourceFingerprint& source, FrameRate fps) {
  return inspect_feature_file(path, source, fps, {{Feature::Mfcc, {extractor_name(Feature::Mfcc, fps), "none"}}});
}

ExistingFile inspect_feature_file(const std::string& path, const SourceFingerprint& source, FrameRate fps,
                                  const std::map<Feature, ExtractorIdentity>& current) {
  ExistingFile ex;
  std::error_code ec;
  ex.exists = std::filesystem::exists(path, ec);
  if (!ex.exists) {
    ex.reason = "does not exist";
    return ex;
  }
  try {
    const SafetensorsFile file = SafetensorsFile::open(path);
    const auto& m = file.metadata();
    const std::optional<int64_t> size = parse_integer(meta_or(m, feature_meta::kSourceSize, ""));
    if (!size || static_cast<uint64_t>(*size) != source.size ||
        meta_or(m, feature_meta::kSourceSha256, "") != source.sha256) {
      ex.reason = "was made from another source file (size or SHA-256 differ)";
      return ex;
    }
    if (meta_or(m, feature_meta::kFps, "") != frame_rate_string(fps)) {
      ex.reason = "was made at another frame rate (" + meta_or(m, feature_meta::kFps, "none") + ")";
      return ex;
    }
    ex.frames = feature_file_frames(file);
    if (ex.frames < 1) {
      ex.reason = "has no valid 'frames' in its metadata";
      return ex;
    }
    ex.matches = true;
    for (Feature f : all_features()) {
      const FeatureSpec& spec = feature_spec(f);
      if (!file.contains(spec.name)) continue;
      const auto& info = file.info(spec.name);
      if (!info.dtype->hl || info.shape != feature_tensor_shape(f, ex.frames)) continue;
      const std::string stored = meta_or(m, feature_meta::extractor_key(f), "");
      if (stored.empty()) continue;
      // A feature this run cannot compute is kept as stored; one it can must have been
      // made by the same extractor from the same weights.
      const auto it = current.find(f);
      if (it != current.end() &&
          (stored != it->second.extractor || meta_or(m, feature_meta::weights_key(f), "none") != it->second.weights))
        continue;
      ex.valid.push_back(f);
    }
  } catch (const Error& e) {
    ex.matches = false;
    ex.valid.clear();
    ex.frames = -1;
    ex.reason = std::string("is damaged (") + e.what() + ")";
  }
  return ex;
}

// ---------------------------------------------------------------------------------------
// Decoding (engine/media, only in builds with FFmpeg)

namespace {

constexpr int kMfccAudioRate = 16000;

#if HL_HAVE_FFMPEG

// ceil(samples · fps / 16000): frames covered by `samples` of 16-kHz audio.
int64_t frames_for_samples(int64_t samples, FrameRate fps) {
  const __int128 n = static_cast<__int128>(samples) * fps.num;
  const __int128 d = static_cast<__int128>(kMfccAudioRate) * fps.den;
  return static_cast<int64_t>((n + d - 1) / d);
}

media::Limits limits_for(const media::MediaInfo& info) {
  media::Limits limits;
  // Room for long files: decoding slower than half real time is pathological; the
  // 6-hour output caps still bound what a hostile file can make us do.
  limits.deadline_seconds = std::max(limits.deadline_seconds, 600.0 + 2.0 * std::min(info.duration_seconds, 6 * 3600.0));
  return limits;
}

struct VideoTicks {
  int64_t count = 0;
  double start_seconds = 0;  // the first frame's timestamp (tick 0), container clock
};

// The frame count at `fps` (and the video's start) by decoding the video stream;
// `only_start` stops after the first frame.
VideoTicks count_video_ticks(const std::string& input, FrameRate fps, const media::Limits& limits,
                             bool only_start = false) {
  media::VideoOptions vo;
  vo.rate = {fps.num, fps.den};
  vo.width = 16;  // only the count matters; a tiny output keeps the conversion cheap
  vo.height = 16;
  vo.scale_flags = "fast_bilinear";
  vo.limits = limits;
  media::VideoReader reader(input, vo);
  if (!only_start) {
    HL_LOG(Debug) << "video decoding pass: " << input << " at " << fps.num << "/" << fps.den << " fps (counting)";
  }
  media::VideoFrame f;
  VideoTicks t;
  while (reader.next(&f)) {
    t.count = f.index + 1;
    t.start_seconds = reader.start_seconds();
    if (only_start) break;
  }
  return t;
}

// The 16-kHz MFCC signal of a video's audio, aligned with its first frame: audio that
// starts `offset` seconds after the video gets that much silence in front; audio that
// starts before it loses the samples before the first frame. At most `needed` samples
// of silence are added (a hostile start time cannot make us allocate more than the
// MFCC rows read).
Tensor align_audio_to_video(const Tensor& signal, double offset_seconds, int64_t needed) {
  const double shift_d = std::round(offset_seconds * kMfccAudioRate);
  const int64_t n = signal.numel();
  if (shift_d == 0 || !std::isfinite(shift_d)) return signal;
  if (shift_d > 0) {
    const int64_t pad = static_cast<int64_t>(std::min<double>(shift_d, static_cast<double>(needed)));
    Tensor out = Tensor::zeros(Shape{pad + n}, DType::F32);
    std::copy(signal.data<float>(), signal.data<float>() + n, out.data<float>() + pad);
    return out;
  }
  const int64_t drop = static_cast<int64_t>(std::min<double>(-shift_d, static_cast<double>(n)));
  Tensor out = Tensor::empty(Shape{n - drop}, DType::F32);
  std::copy(signal.data<float>() + drop, signal.data<float>() + n, out.data<float>());
  return out;
}
#else
[[noreturn]] void no_ffmpeg(const std::string& input) {
  throw FormatError(input, "this hl was built without FFmpeg (-DHL_FFMPEG=OFF), so it cannot decode media");
}
#endif

}  // namespace

int64_t count_frames(const std::string& input, FrameRate fps) {
#if HL_HAVE_FFMPEG
  const media::MediaInfo info = media::probe(input);
  const media::Limits limits = limits_for(info);
  if (info.video) return count_video_ticks(input, fps, limits).count;
  if (info.audio.empty()) throw FormatError(input, "has neither a video nor an audio stream");
  return frames_for_samples(media::decode_mfcc_signal(input, limits).numel(), fps);
#else
  (void)fps;
  no_ffmpeg(input);
#endif
}

// ---------------------------------------------------------------------------------------
// One input

namespace {

// The frames of a still image (one) or of a video's frames at `fps` (native size).
VisualFeatureExtractor::FrameSource image_frames(const std::string& input) {
  auto done = std::make_shared<bool>(false);
  return [input, done](Tensor* rgb) {
    if (*done) return false;
    *rgb = load_image_rgb(input);
    *done = true;
    return true;
  };
}

#if HL_HAVE_FFMPEG
// Decoded RGB frames the reader may hold ahead of the preprocessing: 8 (the default)
// for ordinary sizes, fewer when 8 would pass 256 MiB (8K frames are ~100 MB each),
// never under 2 so decoding and preprocessing still overlap.
int video_queue_frames(const media::MediaInfo& info) {
  constexpr int64_t kQueueBytes = 256LL << 20;
  if (!info.video || info.video->width <= 0 || info.video->height <= 0) return media::VideoOptions{}.queue_frames;
  const int64_t frame_bytes = int64_t{info.video->width} * info.video->height * 3;
  return static_cast<int>(std::clamp<int64_t>(kQueueBytes / frame_bytes, 2, media::VideoOptions{}.queue_frames));
}

bool is_cam_rate(FrameRate fps) { return fps.num * kCamFpsDen == fps.den * kCamFpsNum; }

// The one decoding pass of a video: its frames at --fps (native size: the preprocessing
// resizes them) and, when `cam` is given, cam's frames at 29.97 fps picked by the same
// tick rule from the same decoded frames (media::VideoOptions::second_rate), pushed into
// the session as they come. Each rate's frames are exactly those a reader at that rate
// alone gives, so the features do not depend on what else is extracted. Logs one
// "video decoding pass:" line (tests/tools/test_hl_extract_cam.cpp counts them).
class VideoPass {
 public:
  VideoPass(const std::string& input, FrameRate fps, const media::MediaInfo& info, const media::Limits& limits,
            CamSession* cam)
      : cam_(cam), same_rate_(is_cam_rate(fps)) {
    media::VideoOptions vo;
    vo.rate = {fps.num, fps.den};
    if (cam && !same_rate_) vo.second_rate = {kCamFpsNum, kCamFpsDen};
    vo.limits = limits;  // width = height = 0: each frame at its own size
    vo.queue_frames = video_queue_frames(info);
    reader_ = std::make_unique<media::VideoReader>(input, vo);
    HL_LOG(Debug) << "video decoding pass: " << input << " at " << fps.num << "/" << fps.den << " fps"
                 << (cam ? (same_rate_ ? " (cam's frames too)" : " and cam's 30000/1001 fps") : "");
  }
  // The next frame at --fps (u8 [H, W, 3]; rgb null: only counted); false at the end.
  bool next(Tensor* rgb) {
    while (true) {
      if (repeats_ > 0) {  // a decoded frame shown by several --fps ticks: each its own copy
        --repeats_;
        if (rgb) *rgb = held_.clone();
        ++ticks_;
        return true;
      }
      media::VideoFrame f;
      if (!reader_->next(&f)) return false;
      start_seconds_ = reader_->start_seconds();
      if (cam_) {
        const int64_t cam_ticks = same_rate_ ? f.ticks : f.second_ticks;
        for (int64_t i = 0; i < cam_ticks; ++i) cam_->push(f.rgb, start_seconds_);
      }
      if (f.ticks == 0) continue;  // a frame only cam's rate shows
      held_ = f.rgb;
      repeats_ = f.ticks - 1;
      if (rgb) *rgb = f.rgb;
      ++ticks_;
      return true;
    }
  }
  double start_seconds() const { return start_seconds_; }
  int64_t ticks() const { return ticks_; }  // --fps frames given so far

 private:
  std::unique_ptr<media::VideoReader> reader_;
  CamSession* cam_;
  bool same_rate_;
  Tensor held_;
  int64_t repeats_ = 0, ticks_ = 0;
  double start_seconds_ = 0;
};

// The frames of a VideoPass for the visual features; *start_seconds receives the first
// frame's timestamp.
VisualFeatureExtractor::FrameSource video_frames(std::shared_ptr<VideoPass> pass, double* start_seconds) {
  return [pass = std::move(pass), start_seconds](Tensor* rgb) {
    if (!pass->next(rgb)) return false;
    *start_seconds = pass->start_seconds();
    return true;
  };
}
#endif

}  // namespace

namespace {

// Step 1, before anything is decoded: the file this input makes, what it already holds,
// what is to be computed, and (for media) the one probe of the input.
struct ExtractPlan {
  std::string input;
  FrameRate fps;
  SourceFingerprint source;
  std::map<Feature, ExtractorIdentity> identities;  // of every feature this run can compute
  std::vector<Feature> todo;                        // to compute, in the order requested
  int64_t kept_frames = -1;                         // T of the kept tensors (-1: none kept)
  bool image = false;                               // a still PNG/JPEG: one frame, no audio
  bool needs_audio = false, needs_frames = false;
#if HL_HAVE_FFMPEG
  media::MediaInfo info;  // probed once, for a media input
  media::Limits limits;
#endif
};

// What the visual and audio steps compute, assembled into the file last.
struct Extracted {
  std::map<Feature, Tensor> tensors;
  int64_t frames = -1;       // T, once known
  double video_start = 0;    // the first frame's timestamp, once known
  bool have_video_start = false;
  double duration_seconds = 0;  // the container's, when it says
  std::map<std::string, std::string> meta;  // step-specific metadata (the MFCC's audio offset)
  std::unique_ptr<CamSession> cam_session;   // cam fed by the video's one decoding pass
};

// Fills r.output, r.note and r.kept; r.status = UpToDate when nothing is to be done.
ExtractPlan plan_extraction(const std::string& input, const std::string& out_dir, const ExtractOptions& options,
                            const VisualFeatureExtractor* visual, const CamFeatureExtractor* cam,
                            ExtractResult& r) {
  ExtractPlan plan;
  plan.input = input;
  plan.fps = options.fps;
  plan.identities = {{Feature::Mfcc, {extractor_name(Feature::Mfcc, plan.fps), "none"}}};
  if (visual)
    for (Feature f : visual->features())
      plan.identities[f] = {extractor_name(f, plan.fps, visual->precision(f), visual->faces_step()),
                            visual->weights_sha256(f)};
  if (cam) plan.identities[Feature::Cam] = {extractor_name(Feature::Cam, plan.fps, cam->precision()), cam->weights_sha256()};
  for (Feature f : options.features)
    if (!plan.identities.count(f))
      throw Error(std::string("feature '") + feature_spec(f).name + "' was requested but its network was not loaded");

  r.output = feature_file_path(out_dir, video_id(input));
  plan.source = fingerprint_file(input);
  const ExistingFile ex = inspect_feature_file(r.output, plan.source, plan.fps, plan.identities);
  if (ex.exists && !ex.matches) r.note = "existing " + r.output + " " + ex.reason + "; recomputing it";
  for (Feature f : options.features)
    if (options.force || !ex.matches || !contains(ex.valid, f)) plan.todo.push_back(f);
  if (plan.todo.empty()) {
    r.status = ExtractResult::Status::UpToDate;
    r.frames = ex.frames;
    return plan;
  }
  if (ex.matches)
    for (Feature f : ex.valid)
      if (!contains(plan.todo, f)) r.kept.push_back(f);
  plan.kept_frames = r.kept.empty() ? -1 : ex.frames;

  plan.needs_audio = contains(plan.todo, Feature::Mfcc);
  plan.needs_frames = std::any_of(plan.todo.begin(), plan.todo.end(), [](Feature f) { return is_visual_feature(f); });
  plan.image = is_still_image(input);
  if (plan.image && plan.needs_audio)
    throw FormatError(input, "is a still image, without audio; mfcc needs an audio stream");
  const bool needs_cam = contains(plan.todo, Feature::Cam);
  if (plan.image && needs_cam) throw FormatError(input, "is a still image; cam needs a video with audio");
  if (!plan.image) {
#if HL_HAVE_FFMPEG
    plan.info = media::probe(input);
    plan.limits = limits_for(plan.info);
    if (plan.needs_audio && plan.info.audio.empty()) throw FormatError(input, "has no audio stream; mfcc needs one");
    if (needs_cam && (!plan.info.video || plan.info.audio.empty()))
      throw FormatError(input, std::string("has no ") + (plan.info.video ? "audio" : "video") +
                                   " stream; cam needs a video with audio (the Multisensory network sees and hears)");
#else
    no_ffmpeg(input);
#endif
  }
  return plan;
}

// Step 2: the visual networks over the frames (decoding them also counts them).
void extract_visual(const ExtractPlan& plan, VisualFeatureExtractor& visual, const CamFeatureExtractor* cam,
                    const ExtractOptions& options, const std::string& output, Extracted& x) {
  if (!plan.needs_frames) return;
  VisualFeatureExtractor::FrameSource frames;
  if (plan.image) {
    frames = image_frames(plan.input);
  } else {
#if HL_HAVE_FFMPEG
    if (cam && contains(plan.todo, Feature::Cam)) {
      // cam's clips (29.97 fps) come from the same decoded frames, whatever --fps is.
      x.cam_session = cam->begin(plan.input, options.on_cam_clips);
      HL_LOG(Debug) << "cam: " << plan.input << ": frames from the visual features' decoding pass";
    }
    frames = video_frames(std::make_shared<VideoPass>(plan.input, plan.fps, plan.info, plan.limits,
                                                      x.cam_session.get()),
                          &x.video_start);
    x.have_video_start = true;
#endif
  }
  std::map<Feature, Tensor> out;
  try {
    out = visual.run(frames, options.on_frames);
  } catch (const FormatError&) {
    throw;
  } catch (const Error& e) {
    throw FormatError(plan.input, e.what());
  }
  const int64_t t = out.begin()->second.size(0);
  if (x.frames >= 0 && t != x.frames)
    throw FormatError(plan.input, "decoded " + std::to_string(t) + " frames, but the existing " + output + " has " +
                                      std::to_string(x.frames) + "; rerun with --force");
  x.frames = t;
  for (Feature f : plan.todo)
    if (is_visual_feature(f)) x.tensors[f] = out.at(f);
}

// Step 3: T when no step has counted it yet, and the MFCC of the audio aligned with the
// first frame, on options.mfcc_device.
void extract_audio(const ExtractPlan& plan, const ExtractOptions& options, const CamFeatureExtractor* cam,
                   Extracted& x) {
  if (plan.image) {
    x.frames = 1;
    return;
  }
#if HL_HAVE_FFMPEG
  const media::MediaInfo& info = plan.info;
  x.duration_seconds = info.duration_seconds;
  Tensor signal;
  bool have_signal = false;
  if (x.frames < 0) {
    if (info.video && cam && contains(plan.todo, Feature::Cam)) {
      // Counting T needs a decoding pass: it feeds cam too (its frames at 29.97 fps).
      x.cam_session = cam->begin(plan.input, options.on_cam_clips);
      VideoPass pass(plan.input, plan.fps, info, plan.limits, x.cam_session.get());
      while (pass.next(nullptr)) {
      }
      x.frames = pass.ticks();
      x.video_start = pass.start_seconds();
      x.have_video_start = true;
    } else if (info.video) {
      const VideoTicks ticks = count_video_ticks(plan.input, plan.fps, plan.limits);
      x.frames = ticks.count;
      x.video_start = ticks.start_seconds;
      x.have_video_start = true;
    } else if (!info.audio.empty()) {
      signal = media::decode_mfcc_signal(plan.input, plan.limits);
      have_signal = true;
      x.frames = frames_for_samples(signal.numel(), plan.fps);
      if (x.frames < 1) throw FormatError(plan.input, "its audio stream has no samples");
    } else {
      throw FormatError(plan.input, "has neither a video nor an audio stream");
    }
  }
  if (!plan.needs_audio) return;
  if (!have_signal) {
    media::AudioOptions ao;  // 16 kHz mono, the first audio stream
    ao.limits = plan.limits;
    const media::Audio audio = media::decode_audio(plan.input, ao);
    signal = media::mfcc_signal(audio);
    if (info.video) {  // row 4f must start at frame f: align the audio with the first frame
      if (!x.have_video_start)
        x.video_start = count_video_ticks(plan.input, plan.fps, plan.limits, /*only_start=*/true).start_seconds;
      const double offset = audio.start_seconds - x.video_start;
      const MfccParams p = mfcc_params_for(plan.fps);
      const int64_t needed = mfcc_row_start(mfcc_rows_for_frames(x.frames), p.step_num, p.step_den) + p.window;
      signal = align_audio_to_video(signal, offset, needed);
      char text[32];
      std::snprintf(text, sizeof text, "%.6f", offset);
      x.meta["mfcc.audio_offset_seconds"] = text;
    }
  }
  x.tensors[Feature::Mfcc] =
      mfcc(signal, mfcc_rows_for_frames(x.frames), mfcc_params_for(plan.fps), options.mfcc_device);
#else
  (void)options;
  (void)cam;
  no_ffmpeg(plan.input);
#endif
}

// Step 3b, once T is known: the CAM, from the frames of the video's one decoding pass
// (the visual features' or the one counting T), else (T known from the kept tensors and no
// visual feature to compute) in a pass of its own at 29.97 fps (pipeline/cam_features.h).
// Either way the video is decoded once.
void extract_cam(const ExtractPlan& plan, const ExtractOptions& options, const CamFeatureExtractor& cam,
                 Extracted& x) {
  try {
    x.tensors[Feature::Cam] = x.cam_session ? x.cam_session->finish(x.frames, plan.fps.num, plan.fps.den)
                                            : cam.run(plan.input, x.frames, plan.fps.num, plan.fps.den,
                                                      options.on_cam_clips);
  } catch (const FormatError&) {
    throw;
  } catch (const Error& e) {
    throw FormatError(plan.input, e.what());
  }
}

// Step 4: the computed and the kept tensors, with the metadata, into the feature file.
void assemble(const ExtractPlan& plan, const ExtractOptions& options, Extracted& x, ExtractResult& r) {
  std::map<Feature, Tensor> tensors;
  std::map<std::string, std::string> meta = x.meta;
  for (Feature f : plan.todo) {
    tensors[f] = x.tensors.at(f);
    meta[feature_meta::extractor_key(f)] = plan.identities.at(f).extractor;
    meta[feature_meta::weights_key(f)] = plan.identities.at(f).weights;
    r.computed.push_back(f);
  }
  if (!r.kept.empty()) {
    const SafetensorsFile old = SafetensorsFile::open(r.output);
    for (Feature f : r.kept) {
      tensors[f] = old.get(feature_spec(f).name);
      for (const std::string& key : {feature_meta::extractor_key(f), feature_meta::weights_key(f)}) {
        const auto it = old.metadata().find(key);
        if (it != old.metadata().end()) meta[key] = it->second;
      }
    }
  }
  std::vector<Feature> all;  // the paper's order
  for (Feature f : all_features())
    if (tensors.count(f)) all.push_back(f);

  r.frames = x.frames;
  const FrameRate fps = plan.fps;
  char duration[64];
  const double seconds = x.duration_seconds > 0 ? x.duration_seconds
                                                : static_cast<double>(r.frames) * static_cast<double>(fps.den) /
                                                      static_cast<double>(fps.num);
  std::snprintf(duration, sizeof duration, "%.6f", seconds);
  meta[feature_meta::kDuration] = duration;
  meta[feature_meta::kAudioRate] = std::to_string(kMfccAudioRate);
  meta[feature_meta::kSource] = plan.input;
  meta[feature_meta::kSourceSize] = std::to_string(plan.source.size);
  meta[feature_meta::kSourceSha256] = plan.source.sha256;
  meta[feature_meta::kHlVersion] = options.hl_version;
  write_feature_file(r.output, tensors, feature_file_metadata(all, fps, r.frames, std::move(meta)));
}

}  // namespace

ExtractResult extract_video(const std::string& input, const std::string& out_dir, const ExtractOptions& options) {
  if (options.features.empty()) throw Error("no features requested");
  for (Feature f : options.features) check_extractable(f);
  check_feature_rate(options.fps);

  // The visual networks: the caller's, or loaded here for this one input.
  std::unique_ptr<VisualFeatureExtractor> own_visual;
  VisualFeatureExtractor* visual = options.visual;
  const bool wants_visual =
      std::any_of(options.features.begin(), options.features.end(), [](Feature f) { return is_visual_feature(f); });
  if (wants_visual && !visual) {
    own_visual = std::make_unique<VisualFeatureExtractor>(options.features, options.visual_options);
    visual = own_visual.get();
  }

  // The CAM network likewise (pipeline/cam_features.h).
  std::unique_ptr<CamFeatureExtractor> own_cam;
  CamFeatureExtractor* cam = options.cam;
  if (!cam && std::find(options.features.begin(), options.features.end(), Feature::Cam) != options.features.end()) {
    own_cam = std::make_unique<CamFeatureExtractor>(options.cam_options);
    cam = own_cam.get();
  }

  ExtractResult r;
  const ExtractPlan plan = plan_extraction(input, out_dir, options, visual, cam, r);
  if (r.status == ExtractResult::Status::UpToDate) return r;
  Extracted x;
  x.frames = plan.kept_frames;  // kept tensors fix T
  if (plan.needs_frames) extract_visual(plan, *visual, cam, options, r.output, x);
  extract_audio(plan, options, cam, x);
  if (contains(plan.todo, Feature::Cam)) extract_cam(plan, options, *cam, x);
  assemble(plan, options, x, r);
  return r;
}

}  // namespace hl
