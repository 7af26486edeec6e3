#include "pipeline/segment_dataset.h"

#include <cmath>
#include <cstring>
#include <filesystem>

#include "engine/error.h"
#include "engine/safetensors.h"
#include "engine/video_id.h"
#include "pipeline/feature_file.h"
#include "pipeline/feature_rows.h"

namespace hl {

int64_t held_row_at_tick(int64_t tick, int64_t ticks_per_second, FrameRate rate, int64_t count) {
  if (count < 1) throw Error("held_row_at_tick: no rows");
  // j / rate <= tick / tps  <=>  j * den * tps <= tick * num: integers, no drift; in
  // 128 bits, so that no tick and rate (each term below 2^63) can overflow.
  const __int128 j = (static_cast<__int128>(tick) * rate.num) / (static_cast<__int128>(rate.den) * ticks_per_second);
  return j < count - 1 ? static_cast<int64_t>(j) : count - 1;
}

namespace {

constexpr int64_t kMaxFrames = int64_t{1} << 31;  // 2.3 years at 30 fps

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

// The error for a feature tensor that holds NaN or ±inf: the file, the feature, the first
// frame that has one (found by reading the whole tensor: this is the error path) and how
// many frames do.
FormatError non_finite_error(const std::string& path, const FeatureSpec& spec, const Tensor& stored) {
  const NonFiniteRows bad = find_non_finite_rows(stored);
  const int64_t per_frame = spec.rows_per_frame;
  const std::string value = std::isnan(bad.value) ? "NaN" : (bad.value > 0 ? "+inf" : "-inf");
  std::string where = "frame " + std::to_string(bad.first_row / per_frame);
  if (per_frame > 1) where = "row " + std::to_string(bad.first_row) + " (" + where + ")";
  return FormatError(path, std::string("feature '") + spec.name + "' holds a non-finite value (" + value + ") at " +
                               where + ", element " + std::to_string(bad.element) + " of the row; " +
                               std::to_string(bad.rows) + " of its " + std::to_string(stored.size(0)) +
                               " rows hold one. Extract the video again, or remove its labels");
}

}  // namespace

SegmentDataset SegmentDataset::open(const std::string& features_dir, const SegmentScores& labels,
                                    const std::vector<Feature>& use, const std::string& labels_name) {
  if (use.empty()) throw Error("no features to use");
  SegmentDataset ds;
  ds.dir_ = features_dir;
  ds.use_ = use;
  for (const auto& [video, scores] : labels) {
    // The label readers check ids too; checked again because the id becomes a path here,
    // which must not leave the features folder ("../x", "/etc/x").
    validate_video_id(video, labels_name);
    const std::string path = feature_file_path(features_dir, video);
    if (!std::filesystem::exists(path))
      throw FormatError(path, "no feature file for video '" + video + "' (it has labels in " + labels_name +
                                  "); run hl-extract on it, or remove its labels");
    VideoFeatures vf;
    vf.file = std::make_shared<SafetensorsFile>(SafetensorsFile::open(path));
    vf.path = path;
    vf.fps = feature_file_fps(*vf.file, path);
    vf.frames = -1;
    for (Feature f : use) {
      const FeatureSpec& spec = feature_spec(f);
      if (!vf.file->contains(spec.name))
        throw FormatError(path, std::string("no '") + spec.name + "' tensor (the model uses " +
                                    feature_list_string(use) + "); run hl-extract --features " + spec.name);
      // Kept as stored (f16 from hl-extract and hl-synth), a view of the mapping: batch()
      // converts the rows it uses, so memory does not grow with the dataset.
      const Tensor t = vf.file->get(spec.name);
      const int64_t rows = check_shape(path, spec, t);
      if (rows % spec.rows_per_frame != 0)
        throw FormatError(path, std::string("tensor '") + spec.name + "' has " + std::to_string(rows) +
                                    " rows, not a multiple of " + std::to_string(spec.rows_per_frame));
      const int64_t frames = rows / spec.rows_per_frame;
      // With the rate's terms below 2^31 (feature_file_fps), frames × den stays in 64 bits.
      if (frames > kMaxFrames)
        throw FormatError(path, std::string("tensor '") + spec.name + "' covers " + std::to_string(frames) +
                                    " frames, more than " + std::to_string(kMaxFrames));
      if (vf.frames >= 0 && frames != vf.frames)
        throw FormatError(path, std::string("tensor '") + spec.name + "' covers " + std::to_string(frames) +
                                    " frames but the other features cover " + std::to_string(vf.frames));
      vf.frames = frames;
      // get() views the mapping (read-only storage) unless the file's data is misaligned,
      // when it copies into ordinary memory, whose pages must never be dropped.
      if (t.storage() && t.storage()->read_only()) vf.mapping = t.storage();
      vf.tensors.emplace(f, t);
    }
    // The pages open() touched (the header, and the cached pages a fault maps around it:
    // 64 KiB or a whole 2-MiB folio) go back to the page cache at once: with 2,000 videos
    // they held 75-130 MB of resident memory for the whole run (issue 18).
    if (vf.mapping) {
      const auto* begin = static_cast<const unsigned char*>(vf.mapping->data());
      release_mapped_range(*vf.mapping, begin, begin + vf.mapping->nbytes());
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

namespace {

// Whether a row of an f16 tensor holds a non-finite value (all-ones exponent).
bool f16_row_has_non_finite(const uint16_t* row, int64_t n) {  // n values
  uint32_t any = 0;
  for (int64_t i = 0; i < n; ++i) any |= static_cast<uint32_t>((row[i] & 0x7c00u) == 0x7c00u);
  return any != 0;
}

}  // namespace

// Feature f of the segments `indices` as stored (f16) into dst [B, rows, row_elems], with
// the held rows and checks of batch(); the pages read are released per segment likewise.
void SegmentDataset::copy_stored_rows(Feature f, std::span<const size_t> indices, uint16_t* dst) const {
  const FeatureSpec& spec = feature_spec(f);
  const int64_t rows = static_cast<int64_t>(kTicksPerSegment) * spec.rows_per_frame;
  const int64_t ticks_per_second = int64_t{kTicksPerSecond} * spec.rows_per_frame;
  for (size_t i = 0; i < indices.size(); ++i) {
    const SegmentRef& ref = segments_.at(indices[i]);
    const VideoFeatures& vf = data_[static_cast<size_t>(ref.video)];
    const Tensor& stored = vf.tensors.at(f);
    const int64_t row_elems = row_elements(stored);
    const size_t row_bytes = static_cast<size_t>(row_elems) * sizeof(uint16_t);
    const FrameRate rate{vf.fps.num * spec.rows_per_frame, vf.fps.den};
    const auto* base = static_cast<const uint16_t*>(stored.raw());
    int64_t first_row = -1, previous = -1;
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t j = held_row_at_tick(ref.segment * rows + r, ticks_per_second, rate, stored.size(0));
      uint16_t* row = dst + (static_cast<int64_t>(i) * rows + r) * row_elems;
      std::memcpy(row, base + j * row_elems, row_bytes);
      if (j != previous && f16_row_has_non_finite(row, row_elems)) throw non_finite_error(vf.path, spec, stored);
      if (first_row < 0) first_row = j;
      previous = j;
    }
    if (vf.mapping && first_row >= 0)
      release_mapped_range(*vf.mapping, base + first_row * row_elems, base + (previous + 1) * row_elems);
  }
}

bool SegmentDataset::stored_f16(Feature f, std::span<const size_t> indices) const {
  for (size_t i : indices)
    if (data_[static_cast<size_t>(segments_.at(i).video)].tensors.at(f).dtype() != DType::F16) return false;
  return true;
}

SegmentBatch SegmentDataset::batch(std::span<const size_t> indices, Device device,
                                   const InputNormalisation& normalisation, bool dense_as_stored) const {
  const int64_t b = static_cast<int64_t>(indices.size());
  const bool pinned = device.is_cuda();
  SegmentBatch out;
  for (Feature f : use_) {
    const bool dense = f == Feature::GoogLeNet || f == Feature::Places365 || f == Feature::Affect;
    if (dense_as_stored && dense && device.is_cpu() && stored_f16(f, indices)) {
      const FeatureSpec& spec = feature_spec(f);
      Tensor stored = Tensor::empty(Shape{b, int64_t{kTicksPerSegment}, spec.frame_shape[0]}, DType::F16);
      copy_stored_rows(f, indices, stored.data<uint16_t>());
      out.inputs.emplace(f, std::move(stored));
      continue;
    }
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
      const Tensor& stored = vf.tensors.at(f);
      // Rows of the source at rows_per_frame × the video rate.
      const FrameRate rate{vf.fps.num * spec.rows_per_frame, vf.fps.den};
      const size_t row_bytes = static_cast<size_t>(row_elems) * sizeof(float);
      int64_t previous = -1;  // the source row last converted: held rows never go back
      int64_t first_row = -1;  // the first source row converted
      const float* previous_row = nullptr;
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t tick = ref.segment * rows + r;
        const int64_t j = held_row_at_tick(tick, ticks_per_second, rate, stored.size(0));
        float* row = dst + (i * rows + r) * row_elems;
        if (j == previous) {  // a held frame shown again (videos below 30 fps)
          std::memcpy(row, previous_row, row_bytes);
          continue;
        }
        // Every value a model sees is checked here, as the row is converted
        // (docs/training.md, "Data").
        if (row_to_f32(stored, j, row) >= 0) throw non_finite_error(vf.path, spec, stored);
        if (standardise) normalisation.normalise_rows(f, row, row, 1);
        if (first_row < 0) first_row = j;
        previous = j;
        previous_row = row;
      }
      // The pages this segment's rows were read from go back to the page cache at once,
      // not at the end of the batch: the file pages mapped while a batch of 300 is
      // assembled reached 1 GB (the kernel maps more than the rows read, see
      // release_mapped_range), on top of the batch itself (pipeline/feature_rows.h).
      if (vf.mapping && first_row >= 0) {
        const auto* base = static_cast<const unsigned char*>(stored.raw());
        const size_t stored_row_bytes = static_cast<size_t>(row_elems) * dtype_size(stored.dtype());
        release_mapped_range(*vf.mapping, base + static_cast<size_t>(first_row) * stored_row_bytes,
                             base + static_cast<size_t>(previous + 1) * stored_row_bytes);
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
