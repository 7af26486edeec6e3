// Standardisation of a model's inputs (docs/training.md, "Input normalisation"): per
// feature and per input channel, x -> (x - mean) / max(std, eps), with the mean and the
// population standard deviation of that channel over the training segments of a fold.
//
// Channels: one per element of a row for googlenet [1024], places365 [2048], affect
// [128] and mfcc [13] (per coefficient); one for cam (the 14x14 map is a one-channel
// image: one mean and std over all 196 positions keep its spatial contrast, which the
// 14x14 convolution reads) and one for faces.
//
// The statistics are computed in double over every row of every given segment as the
// model sees it (150 held rows at 30 fps, 600 MFCC rows: SegmentDataset::batch), one
// segment at a time (memory: one segment), each segment's mean and M2 by two passes and
// merged in segment order (Chan et al.'s pairwise update), so the result is a
// deterministic function of the segments; stored as f32.
//
// eps = 1e-3: a channel whose std is below it is constant over the training data up to
// f16 rounding (feature files store f16, whose resolution near 1 is 2^-10 ~ 1e-3); it
// carries nothing to learn from, and dividing by eps instead of by a tiny or zero std
// keeps its values finite and small on videos where it does vary.
//
// In a model file (format_version 2): metadata input_normalisation = "standardise",
// input_normalisation_eps, and F32 tensors normalise.<feature>.mean / .std [C] for every
// feature of the model. A file without the key (every format_version 1 file) has none.
#pragma once
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor.h"
#include "nets/features.h"

namespace hl {

class SafetensorsFile;

struct ChannelStatistics {
  std::vector<double> mean;  // [C]
  std::vector<double> std;   // [C] population standard deviation, not clamped
};

class InputNormalisation {
 public:
  static constexpr float kDefaultEps = 1e-3f;

  // None: inputs are used as they are.
  InputNormalisation() = default;
  // Statistics per feature (each [channels(f)], finite, std >= 0), rounded to f32.
  // Throws hl::Error for a wrong size or a bad value, naming the feature.
  explicit InputNormalisation(const std::map<Feature, ChannelStatistics>& statistics, float eps = kDefaultEps);
  static const InputNormalisation& none();

  bool enabled() const { return !features_.empty(); }
  float eps() const { return eps_; }
  // Features with statistics, in the paper's order.
  std::vector<Feature> features() const;
  bool has(Feature f) const { return features_.count(f) != 0; }
  // f32 [channels(f)] each (the stored values).
  const std::vector<float>& mean(Feature f) const;
  const std::vector<float>& stddev(Feature f) const;
  // Input channels of a feature: 1024, 2048, 128, 1 (cam), 1 (faces), 13 (mfcc).
  static int64_t channels(Feature f);

  // dst[r, e] = (src[r, e] - mean[c]) / max(std[c], eps) for `rows` rows of feature f
  // (a row: its frame_shape's elements; c = e, or 0 for cam and faces). dst may be src.
  // Throws hl::Error when f has no statistics.
  void normalise_rows(Feature f, const float* src, float* dst, int64_t rows) const;
  // Every tensor of `inputs` (f32 CPU, [.., rows, frame_shape...]) in place.
  void apply(std::map<Feature, Tensor>& inputs) const;

  // Model files: adds the metadata keys (and format_version 2) and the tensors; nothing
  // when not enabled.
  void write(std::map<std::string, std::string>& metadata, std::vector<std::pair<std::string, Tensor>>& tensors) const;
  // Reads what write() wrote for `features`: none when the metadata has no
  // input_normalisation key. Throws hl::Error naming `path` for a file that claims
  // statistics without format_version 2 or without every tensor, or bad values.
  static InputNormalisation read(const SafetensorsFile& file, const std::string& path, const std::vector<Feature>& features);
  // The tensor names write() uses for `features` (empty when not enabled).
  std::vector<std::string> tensor_names() const;

  bool operator==(const InputNormalisation& other) const = default;

 private:
  struct PerFeature {
    std::vector<float> mean, std;              // [C]
    std::vector<float> row_mean, row_divisor;  // per row element: mean[c], max(std[c], eps)
    bool operator==(const PerFeature&) const = default;
  };
  void add(Feature f, std::vector<float> mean, std::vector<float> stddev);

  float eps_ = kDefaultEps;
  std::map<Feature, PerFeature> features_;
};

}  // namespace hl
