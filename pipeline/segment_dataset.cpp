#include "pipeline/segment_dataset.h"

#include <cstring>
#include <filesystem>

#include "engine/error.h"
#include "engine/safetensors.h"
#include "pipeline/feature_file.h"

namespace hl {

int64_t held_row_at_tick(int64_t tick, int64_t ticks_per_second, FrameRate rate, int64_t count) {
  if (count < 1) throw Error("held_row_at_tick: no rows");
  // j / rate <= tick / tps  <=>  j * den * tps <= tick * num: integers, no drift.
  const int64_t j = (tick * rate.num) / (rate.den * ticks_per_second);
  return std::min(j, count - 1);
}

namespace {

std::string shape_string(const Shape& s) {
  std::string out = "[";
  for (int i = 0; i < s.ndim(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

// Checks `t` is [rows, frame_shape...] and returns rows.
int64_t check_shape(const std::string& path, const FeatureSpec& spec, const Tensor& t) {
  const auto& fs = spec.frame_shape;
  bool ok = t.ndim() == 1 + static_cast<int>(fs.size());
  for (size_t i = 0; ok && i < fs.size(); ++i) ok = t.size(static_cast<int>(i) + 1) == fs[i];
  if (!ok) {
    std::string want = "[T";
    for (int64_t d : fs) want += ", " + std::to_string(d);
    throw FormatError(path, std::string("tensor '") + spec.name + "' has shape " + shape_string(t.shape()) +
                                ", expected " + want + "]");
  }
  return t.size(0);
}

}  // namespace

SegmentDataset SegmentDataset::open(const std::string& features_dir, const SegmentScores& labels,
                                    const std::vector<Feature>& use, const std::string& labels_name) {
  if (use.empty()) throw Error("no features to use");
  SegmentDataset ds;
  ds.dir_ = features_dir;
  ds.use_ = use;
  for (const auto& [video, scores] : labels) {
    const std::string path = feature_file_path(features_dir, video);
    if (!std::filesystem::exists(path))
      throw FormatError(path, "no feature file for video '" + video + "' (it has labels in " + labels_name +
                                  "); run hl-extract on it, or remove its labels");
    VideoFeatures vf;
    vf.file = std::make_shared<SafetensorsFile>(SafetensorsFile::open(path));
    vf.fps = feature_file_fps(*vf.file, path);
    vf.frames = -1;
    for (Feature f : use) {
      const FeatureSpec& spec = feature_spec(f);
      if (!vf.file->contains(spec.name))
        throw FormatError(path, std::string("no '") + spec.name + "' tensor (the model uses " +
                                    feature_list_string(use) + "); run hl-extract --features " + spec.name);
      Tensor t = vf.file->get(spec.name);
      if (t.dtype() != DType::F32) t = t.cast(DType::F32);
      const int64_t rows = check_shape(path, spec, t);
      if (rows % spec.rows_per_frame != 0)
        throw FormatError(path, std::string("tensor '") + spec.name + "' has " + std::to_string(rows) +
                                    " rows, not a multiple of " + std::to_string(spec.rows_per_frame));
      const int64_t frames = rows / spec.rows_per_frame;
      if (vf.frames >= 0 && frames != vf.frames)
        throw FormatError(path, std::string("tensor '") + spec.name + "' covers " + std::to_string(frames) +
                                    " frames but the other features cover " + std::to_string(vf.frames));
      vf.frames = frames;
      vf.tensors.emplace(f, t);
    }
    const int64_t complete = complete_segments(vf.frames, vf.fps);
    if (static_cast<int64_t>(scores.size()) > complete)
      throw FormatError(labels_name, "video '" + video + "' has labels for segment " +
                                         std::to_string(scores.size() - 1) + " but its features (" + path + ") cover " +
                                         std::to_string(complete) + " complete 5-s segments (" +
                                         std::to_string(vf.frames) + " frames at " + frame_rate_string(vf.fps) + " fps)");
    const int32_t index = static_cast<int32_t>(ds.videos_.size());
    ds.videos_.push_back(video);
    ds.data_.push_back(std::move(vf));
    for (size_t s = 0; s < scores.size(); ++s)
      ds.segments_.push_back({index, static_cast<int64_t>(s), static_cast<float>(scores[s])});
  }
  return ds;
}

SegmentBatch SegmentDataset::batch(std::span<const size_t> indices, Device device,
                                   const InputNormalisation& normalisation) const {
  const int64_t b = static_cast<int64_t>(indices.size());
  const bool pinned = device.is_cuda();
  SegmentBatch out;
  for (Feature f : use_) {
    const FeatureSpec& spec = feature_spec(f);
    const int64_t rows = static_cast<int64_t>(kTicksPerSegment) * spec.rows_per_frame;  // 150 or 600
    int64_t row_elems = 1;
    for (int64_t d : spec.frame_shape) row_elems *= d;
    std::vector<int64_t> dims = {b, rows};
    if (spec.frame_shape.empty()) dims.push_back(1);
    dims.insert(dims.end(), spec.frame_shape.begin(), spec.frame_shape.end());
    Tensor host = pinned ? Tensor::empty_pinned(Shape(dims), DType::F32) : Tensor::empty(Shape(dims), DType::F32);
    float* dst = host.data<float>();
    const int64_t ticks_per_second = int64_t{kTicksPerSecond} * spec.rows_per_frame;  // 30 or 120
    const bool standardise = normalisation.enabled();
    if (standardise && !normalisation.has(f))
      throw Error(std::string("the input normalisation has no statistics for '") + spec.name + "'");
    for (int64_t i = 0; i < b; ++i) {
      const SegmentRef& ref = segments_.at(indices[static_cast<size_t>(i)]);
      const VideoFeatures& vf = data_[static_cast<size_t>(ref.video)];
      const Tensor& src_t = vf.tensors.at(f);
      const float* src = src_t.data<float>();
      // Rows of the source at rows_per_frame × the video rate.
      const FrameRate rate{vf.fps.num * spec.rows_per_frame, vf.fps.den};
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t tick = ref.segment * rows + r;
        const int64_t j = held_row_at_tick(tick, ticks_per_second, rate, src_t.size(0));
        float* row = dst + (i * rows + r) * row_elems;
        if (standardise)
          normalisation.normalise_rows(f, src + j * row_elems, row, 1);
        else
          std::memcpy(row, src + j * row_elems, static_cast<size_t>(row_elems) * sizeof(float));
      }
    }
    out.inputs.emplace(f, host.to(device));
  }
  std::vector<float> labels(static_cast<size_t>(b));
  for (int64_t i = 0; i < b; ++i) labels[static_cast<size_t>(i)] = segments_.at(indices[static_cast<size_t>(i)]).label;
  out.labels = Tensor::from_vector(Shape({b}), labels).to(device);
  return out;
}

}  // namespace hl
