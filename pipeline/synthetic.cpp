#include "pipeline/synthetic.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "engine/atomic_file.h"
#include "engine/error.h"
#include "engine/progress.h"
#include "engine/safetensors.h"
#include "kernels/cpu/random.h"
#include "pipeline/feature_file.h"

namespace hl {
namespace {

// Disjoint Philox stream offsets per video, purpose and feature, so that every number
// is a pure function of (seed, video, purpose, feature, index).
enum Purpose : uint64_t { kLength = 1, kLabels = 2, kSegmentNoise = 3, kRowNoise = 4 };
uint64_t stream(int video, Purpose purpose, int feature = 0) {
  return (static_cast<uint64_t>(video) << 44) | (static_cast<uint64_t>(purpose) << 40) |
         (static_cast<uint64_t>(feature) << 36);
}

std::string video_id(int index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "synth_%04d", index);
  return buf;
}

}  // namespace

SyntheticVideo synthetic_video(const SyntheticSpec& spec, int index) {
  if (spec.min_seconds < 5 || spec.max_seconds < spec.min_seconds)
    throw Error("synthetic videos need 5 s <= min length <= max length");
  SyntheticVideo v;
  v.id = video_id(index);
  float u = 0;
  cpu::uniform_f32(spec.seed, stream(index, kLength), &u, 1, 0.0f, 1.0f);
  const double seconds = spec.min_seconds + (spec.max_seconds - spec.min_seconds) * u;
  v.frames = static_cast<int64_t>(seconds * spec.fps.num / spec.fps.den);
  const int64_t segments = complete_segments(v.frames, spec.fps);
  std::vector<float> steps(static_cast<size_t>(segments) + 1);
  cpu::normal_f32(spec.seed, stream(index, kLabels), steps.data(), static_cast<int64_t>(steps.size()), 0.0f, 1.0f);
  double y = 1.0 + 0.5 * steps[0];
  for (int64_t s = 0; s < segments; ++s) {
    y = std::clamp(y + 0.4 * steps[static_cast<size_t>(s) + 1], 0.0, 2.0);
    v.labels.push_back(y);
  }
  return v;
}

std::map<Feature, Tensor> synthetic_features(const SyntheticSpec& spec, int index) {
  const SyntheticVideo v = synthetic_video(spec, index);
  std::map<Feature, Tensor> out;
  for (Feature f : spec.features) {
    const FeatureSpec& fs = feature_spec(f);
    int64_t dims = 1;
    for (int64_t d : fs.frame_shape) dims *= d;
    const int64_t rows = v.frames * fs.rows_per_frame;
    const int64_t segments = static_cast<int64_t>(v.labels.size());
    const int64_t planted = std::min<int64_t>(8, dims);
    const auto it = spec.strength.find(f);
    const double amplitude = (it == spec.strength.end() ? 0.0 : it->second) / std::sqrt(static_cast<double>(planted));
    const int fi = static_cast<int>(f) + 1;

    // Segment-level noise [segments + 1, dims] (the last row serves the trailing partial segment).
    std::vector<float> seg_noise(static_cast<size_t>((segments + 1) * dims));
    cpu::normal_f32(spec.seed, stream(index, kSegmentNoise, fi), seg_noise.data(),
                    static_cast<int64_t>(seg_noise.size()), 0.0f, 1.0f);
    std::vector<int64_t> shape = {rows};
    shape.insert(shape.end(), fs.frame_shape.begin(), fs.frame_shape.end());
    Tensor t = Tensor::empty(Shape(shape), DType::F32);
    float* x = t.data<float>();
    cpu::normal_f32(spec.seed, stream(index, kRowNoise, fi), x, t.numel(), 0.0f, 0.5f);
    for (int64_t r = 0; r < rows; ++r) {
      // The segment this row's time falls in: row r is at r / (rows_per_frame · fps) seconds.
      const int64_t s = std::min(segments, (r * spec.fps.den) / (int64_t{fs.rows_per_frame} * spec.fps.num * kSegmentSeconds));
      const double signal = s < segments ? amplitude * (v.labels[static_cast<size_t>(s)] - 1.0) : 0.0;
      float* row = x + r * dims;
      const float* noise = seg_noise.data() + s * dims;
      for (int64_t d = 0; d < planted; ++d) row[d] += noise[d] + static_cast<float>(signal);
    }
    out.emplace(f, spec.dtype == DType::F32 ? t : t.cast(spec.dtype));
  }
  return out;
}

void write_synthetic_dataset(const SyntheticSpec& spec, const std::string& out_dir) {
  namespace fs = std::filesystem;
  const fs::path features_dir = fs::path(out_dir) / "features";
  fs::create_directories(features_dir);
  std::ostringstream csv;
  csv << "video,segment,score\n";
  ProgressBar bar("synthesise", spec.videos, "videos");
  for (int i = 0; i < spec.videos; ++i) {
    const SyntheticVideo v = synthetic_video(spec, i);
    std::ostringstream strengths;
    for (Feature f : spec.features) strengths << (strengths.tellp() ? "," : "") << feature_spec(f).name << "=" << spec.strength.at(f);
    const std::map<std::string, std::string> meta = feature_file_metadata(
        spec.features, spec.fps, v.frames,
        {{feature_meta::kSource, "hl-synth seed " + std::to_string(spec.seed) + " video " + std::to_string(i)},
         {"synthetic_strength", strengths.str()},
         {"dtype", std::string(dtype_name(spec.dtype))}});
    const std::string path = feature_file_path(features_dir.string(), v.id);
    bool current = false;  // resume: skip a complete file with the same metadata
    if (fs::exists(path)) {
      try {
        current = SafetensorsFile::open(path).metadata() == meta;
      } catch (const Error&) {
        current = false;
      }
    }
    if (!current) write_feature_file(path, synthetic_features(spec, i), meta);
    for (size_t s = 0; s < v.labels.size(); ++s) {
      char score[32];
      std::snprintf(score, sizeof score, "%.6f", v.labels[s]);
      csv << v.id << "," << s << "," << score << "\n";
    }
    bar.advance();
  }
  write_text_atomic((fs::path(out_dir) / "labels.csv").string(), csv.str());
}

}  // namespace hl
