#include "pipeline/extract.h"

#include <algorithm>
#include <cmath>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <numeric>
#include <utility>

#include "engine/error.h"
#include "engine/image.h"
#include "engine/safetensors.h"
#include "nets/mfcc.h"

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

std::string feature_file_path(const std::string& out_dir, const std::string& id) {
  return (std::filesystem::path(out_dir) / (id + ".safetensors")).string();
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

Shard parse_shard(const std::string& text) {
  Shard s;
  const size_t slash = text.find('/');
  auto parse = [](std::string_view v, int64_t* out) {
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), *out);
    return !v.empty() && ec == std::errc() && p == v.data() + v.size();
  };
  const bool ok = slash != std::string::npos && parse(std::string_view(text).substr(0, slash), &s.index) &&
                  parse(std::string_view(text).substr(slash + 1), &s.count);
  if (!ok || s.count < 1 || s.index < 0 || s.index >= s.count)
    throw Error("--shard '" + text + "': expected I/N with 0 <= I < N (e.g. 0/4 ... 3/4)");
  return s;
}

uint64_t fnv1a64(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

bool in_shard(const std::string& id, const Shard& shard) {
  return fnv1a64(id) % static_cast<uint64_t>(shard.count) == static_cast<uint64_t>(shard.index);
}

// ---------------------------------------------------------------------------------------
// Features and their extractors

void check_extractable(Feature f) {
  switch (f) {
    case Feature::Mfcc:
    case Feature::GoogLeNet:
    case Feature::Places365:
      return;
    case Feature::Affect:
    case Feature::Cam:
    case Feature::Faces:
      throw Error(std::string("feature '") + feature_spec(f).name +
                  "' is not available yet: no issue adds its network so far (DESIGN section 4); "
                  "hl-extract computes googlenet, places365 and mfcc");
  }
  throw Error("unknown feature");
}

MfccParams mfcc_params_for(FrameRate fps) {
  if (fps.num <= 0 || fps.den <= 0 || fps.num > 1'000'000'000 || fps.den > 1'000'000'000 ||
      fps.num > 1000 * fps.den)
    throw Error("frame rate " + std::to_string(fps.num) + "/" + std::to_string(fps.den) +
                " is outside (0, 1000] fps");
  MfccParams p = MfccParams::paper();
  // step = sample_rate / (4 fps) samples = sample_rate · den / (4 · num).
  int64_t num = int64_t{p.sample_rate} * fps.den;
  int64_t den = kMfccRowsPerFrame * fps.num;
  const int64_t g = std::gcd(num, den);
  p.step_num = num / g;
  p.step_den = den / g;
  return p;
}

std::string frame_rate_string(FrameRate fps) {
  const int64_t g = std::gcd(fps.num, fps.den);
  return std::to_string(fps.num / (g ? g : 1)) + "/" + std::to_string(fps.den / (g ? g : 1));
}

std::string extractor_name(Feature f, FrameRate fps, const std::string& precision) {
  check_extractable(f);
  char text[320];
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

bool parse_i64(const std::string& s, int64_t* v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

std::string meta_or(const std::map<std::string, std::string>& m, const std::string& key, const std::string& dflt) {
  const auto it = m.find(key);
  return it == m.end() ? dflt : it->second;
}

std::vector<int64_t> expected_shape(Feature f, int64_t frames) {
  const FeatureSpec& spec = feature_spec(f);
  std::vector<int64_t> shape = {frames * spec.rows_per_frame};
  shape.insert(shape.end(), spec.frame_shape.begin(), spec.frame_shape.end());
  return shape;
}

bool contains(const std::vector<Feature>& v, Feature f) { return std::find(v.begin(), v.end(), f) != v.end(); }

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
    int64_t size = -1;
    if (!parse_i64(meta_or(m, "source_size", ""), &size) || static_cast<uint64_t>(size) != source.size ||
        meta_or(m, "source_sha256", "") != source.sha256) {
      ex.reason = "was made from another source file (size or SHA-256 differ)";
      return ex;
    }
    if (meta_or(m, "fps", "") != frame_rate_string(fps)) {
      ex.reason = "was made at another frame rate (" + meta_or(m, "fps", "none") + ")";
      return ex;
    }
    if (!parse_i64(meta_or(m, "frames", ""), &ex.frames) || ex.frames < 1) {
      ex.reason = "has no valid 'frames' in its metadata";
      ex.frames = -1;
      return ex;
    }
    ex.matches = true;
    for (Feature f : all_features()) {
      const FeatureSpec& spec = feature_spec(f);
      if (!file.contains(spec.name)) continue;
      const auto& info = file.info(spec.name);
      if (!info.dtype->hl || info.shape != expected_shape(f, ex.frames)) continue;
      const std::string stored = meta_or(m, std::string(spec.name) + ".extractor", "");
      if (stored.empty()) continue;
      // A feature this run cannot compute is kept as stored; one it can must have been
      // made by the same extractor from the same weights.
      const auto it = current.find(f);
      if (it != current.end() && (stored != it->second.extractor ||
                                  meta_or(m, std::string(spec.name) + ".weights", "none") != it->second.weights))
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
// *start_seconds receives the first frame's timestamp.
VisualFeatureExtractor::FrameSource video_frames(const std::string& input, FrameRate fps,
                                                 const media::Limits& limits, double* start_seconds) {
  media::VideoOptions vo;
  vo.rate = {fps.num, fps.den};
  vo.limits = limits;  // width = height = 0: each frame at its own size, resized by the preprocessing
  auto reader = std::make_shared<media::VideoReader>(input, vo);
  return [reader, start_seconds](Tensor* rgb) {
    media::VideoFrame f;
    if (!reader->next(&f)) return false;
    *rgb = f.rgb;
    *start_seconds = reader->start_seconds();
    return true;
  };
}
#endif

}  // namespace

ExtractResult extract_video(const std::string& input, const std::string& out_dir, const ExtractOptions& options) {
  if (options.features.empty()) throw Error("no features requested");
  for (Feature f : options.features) check_extractable(f);
  const FrameRate fps = options.fps;
  (void)mfcc_params_for(fps);  // validates the rate

  // The visual networks: the caller's, or loaded here for this one input.
  std::unique_ptr<VisualFeatureExtractor> own_visual;
  VisualFeatureExtractor* visual = options.visual;
  const bool wants_visual =
      std::any_of(options.features.begin(), options.features.end(), [](Feature f) { return is_visual_feature(f); });
  if (wants_visual && !visual) {
    own_visual = std::make_unique<VisualFeatureExtractor>(options.features, options.visual_options);
    visual = own_visual.get();
  }
  std::map<Feature, ExtractorIdentity> identities = {{Feature::Mfcc, {extractor_name(Feature::Mfcc, fps), "none"}}};
  if (visual)
    for (Feature f : visual->features())
      identities[f] = {extractor_name(f, fps, visual->precision()), visual->weights_sha256(f)};
  for (Feature f : options.features)
    if (!identities.count(f))
      throw Error(std::string("feature '") + feature_spec(f).name + "' was requested but its network was not loaded");

  ExtractResult r;
  r.output = feature_file_path(out_dir, video_id(input));
  const SourceFingerprint source = fingerprint_file(input);
  const ExistingFile ex = inspect_feature_file(r.output, source, fps, identities);
  if (ex.exists && !ex.matches) r.note = "existing " + r.output + " " + ex.reason + "; recomputing it";

  std::vector<Feature> todo;
  for (Feature f : options.features)
    if (options.force || !ex.matches || !contains(ex.valid, f)) todo.push_back(f);
  if (todo.empty()) {
    r.status = ExtractResult::Status::UpToDate;
    r.frames = ex.frames;
    return r;
  }
  if (ex.matches)
    for (Feature f : ex.valid)
      if (!contains(todo, f)) r.kept.push_back(f);

  const bool needs_audio = contains(todo, Feature::Mfcc);
  const bool needs_frames = std::any_of(todo.begin(), todo.end(), [](Feature f) { return is_visual_feature(f); });
  const bool image = is_still_image(input);
  if (image && needs_audio) throw FormatError(input, "is a still image, without audio; mfcc needs an audio stream");

  std::vector<std::pair<std::string, Tensor>> tensors;
  std::map<std::string, std::string> meta;
  std::map<Feature, Tensor> computed;
  r.frames = r.kept.empty() ? -1 : ex.frames;  // kept tensors fix T

  // Visual features first: decoding the frames also counts them.
  double video_start = 0;  // the first frame's timestamp, once known
  bool have_video_start = false;
  if (needs_frames) {
#if HL_HAVE_FFMPEG
    const VisualFeatureExtractor::FrameSource frames =
        image ? image_frames(input) : video_frames(input, fps, limits_for(media::probe(input)), &video_start);
    have_video_start = !image;
#else
    if (!image) no_ffmpeg(input);
    const VisualFeatureExtractor::FrameSource frames = image_frames(input);
#endif
    std::map<Feature, Tensor> out;
    try {
      out = visual->run(frames, options.on_frames);
    } catch (const FormatError&) {
      throw;
    } catch (const Error& e) {
      throw FormatError(input, e.what());
    }
    const int64_t t = out.begin()->second.size(0);
    if (r.frames >= 0 && t != r.frames)
      throw FormatError(input, "decoded " + std::to_string(t) + " frames, but the existing " + r.output + " has " +
                                   std::to_string(r.frames) + "; rerun with --force");
    r.frames = t;
    for (Feature f : todo)
      if (is_visual_feature(f)) computed[f] = out.at(f);
  }

  double duration_seconds = 0;
  if (image) {
    r.frames = 1;
  } else {
#if HL_HAVE_FFMPEG
    const media::MediaInfo info = media::probe(input);
    const media::Limits limits = limits_for(info);
    duration_seconds = info.duration_seconds;
    if (needs_audio && info.audio.empty()) throw FormatError(input, "has no audio stream; mfcc needs one");
    Tensor signal;
    bool have_signal = false;
    if (r.frames < 0) {
      if (info.video) {
        const VideoTicks ticks = count_video_ticks(input, fps, limits);
        r.frames = ticks.count;
        video_start = ticks.start_seconds;
        have_video_start = true;
      } else if (!info.audio.empty()) {
        signal = media::decode_mfcc_signal(input, limits);
        have_signal = true;
        r.frames = frames_for_samples(signal.numel(), fps);
        if (r.frames < 1) throw FormatError(input, "its audio stream has no samples");
      } else {
        throw FormatError(input, "has neither a video nor an audio stream");
      }
    }
    if (needs_audio) {
      if (!have_signal) {
        media::AudioOptions ao;  // 16 kHz mono, the first audio stream
        ao.limits = limits;
        const media::Audio audio = media::decode_audio(input, ao);
        signal = media::mfcc_signal(audio);
        if (info.video) {  // row 4f must start at frame f: align the audio with the first frame
          if (!have_video_start) video_start = count_video_ticks(input, fps, limits, /*only_start=*/true).start_seconds;
          const double offset = audio.start_seconds - video_start;
          const MfccParams p = mfcc_params_for(fps);
          const int64_t needed = mfcc_row_start(mfcc_rows_for_frames(r.frames), p.step_num, p.step_den) + p.window;
          signal = align_audio_to_video(signal, offset, needed);
          char text[32];
          std::snprintf(text, sizeof text, "%.6f", offset);
          meta["mfcc.audio_offset_seconds"] = text;
        }
      }
      // --device cuda: the cuFFT MFCC (nets/mfcc.h), on the CPU otherwise.
      const Device device = options.visual_options.cuda ? Device::cuda(0) : Device::cpu();
      computed[Feature::Mfcc] = mfcc(signal, mfcc_rows_for_frames(r.frames), mfcc_params_for(fps), device);
    }
#else
    no_ffmpeg(input);
#endif
  }

  for (Feature f : todo) {
    const std::string name = feature_spec(f).name;
    tensors.emplace_back(name, computed.at(f));
    meta[name + ".extractor"] = identities.at(f).extractor;
    meta[name + ".weights"] = identities.at(f).weights;
    r.computed.push_back(f);
  }
  if (!r.kept.empty()) {
    const SafetensorsFile old = SafetensorsFile::open(r.output);
    for (Feature f : r.kept) {
      const std::string name = feature_spec(f).name;
      tensors.emplace_back(name, old.get(name));
      for (const char* key : {".extractor", ".weights"}) {
        const auto it = old.metadata().find(name + key);
        if (it != old.metadata().end()) meta[name + key] = it->second;
      }
    }
  }
  // Paper order for the tensors and the "features" list.
  std::vector<Feature> all;
  for (Feature f : all_features())
    if (contains(r.computed, f) || contains(r.kept, f)) all.push_back(f);
  std::stable_sort(tensors.begin(), tensors.end(), [](const auto& a, const auto& b) {
    auto rank = [](const std::string& n) {
      for (Feature f : all_features())
        if (n == feature_spec(f).name) return static_cast<int>(f);
      return 99;
    };
    return rank(a.first) < rank(b.first);
  });

  char duration[64];
  const double seconds = duration_seconds > 0 ? duration_seconds
                                              : static_cast<double>(r.frames) * static_cast<double>(fps.den) /
                                                    static_cast<double>(fps.num);
  std::snprintf(duration, sizeof duration, "%.6f", seconds);
  meta["fps"] = frame_rate_string(fps);
  meta["frames"] = std::to_string(r.frames);
  meta["duration"] = duration;
  meta["audio_rate"] = std::to_string(kMfccAudioRate);
  meta["source"] = input;
  meta["source_size"] = std::to_string(source.size);
  meta["source_sha256"] = source.sha256;
  meta["features"] = feature_list_string(all);
  meta["hl_version"] = options.hl_version;
  write_safetensors(r.output, tensors, meta);
  return r;
}

}  // namespace hl
