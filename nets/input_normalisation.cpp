#include "nets/input_normalisation.h"

#include <algorithm>
#include <cmath>

#include "engine/error.h"
#include "engine/float_text.h"
#include "engine/safetensors.h"
#include "nets/parameter_set.h"

namespace hl {

namespace {

constexpr const char* kKey = "input_normalisation";
constexpr const char* kEpsKey = "input_normalisation_eps";
constexpr const char* kStandardise = "standardise";

std::string tensor_name(Feature f, const char* what) {
  return std::string("normalise.") + feature_spec(f).name + "." + what;
}

int64_t row_elements(Feature f) {
  int64_t n = 1;
  for (int64_t d : feature_spec(f).frame_shape) n *= d;
  return n;
}

}  // namespace

InputNormalisation::InputNormalisation(const std::map<Feature, ChannelStatistics>& statistics, float eps) : eps_(eps) {
  if (!(eps > 0.0f) || !std::isfinite(eps)) throw Error("input normalisation: eps " + float_text(eps) + " is not positive");
  for (const auto& [f, s] : statistics) {
    add(f, std::vector<float>(s.mean.begin(), s.mean.end()), std::vector<float>(s.std.begin(), s.std.end()));
  }
}

const InputNormalisation& InputNormalisation::none() {
  static const InputNormalisation empty;
  return empty;
}

void InputNormalisation::add(Feature f, std::vector<float> mean, std::vector<float> stddev) {
  const std::string name = feature_spec(f).name;
  const auto c = static_cast<size_t>(channels(f));
  if (mean.size() != c || stddev.size() != c)
    throw Error("input normalisation of '" + name + "': " + std::to_string(mean.size()) + " means and " +
                std::to_string(stddev.size()) + " standard deviations; expected " + std::to_string(c) + " of each");
  for (size_t i = 0; i < c; ++i)
    if (!std::isfinite(mean[i]) || !std::isfinite(stddev[i]) || stddev[i] < 0.0f)
      throw Error("input normalisation of '" + name + "': channel " + std::to_string(i) + " has mean " +
                  float_text(mean[i]) + " and std " + float_text(stddev[i]) + " (finite, std >= 0 expected)");
  PerFeature p;
  const int64_t elements = row_elements(f);
  for (int64_t e = 0; e < elements; ++e) {
    const size_t ch = c == 1 ? 0 : static_cast<size_t>(e);
    p.row_mean.push_back(mean[ch]);
    p.row_divisor.push_back(std::max(stddev[ch], eps_));
  }
  p.mean = std::move(mean);
  p.std = std::move(stddev);
  features_[f] = std::move(p);
}

int64_t InputNormalisation::channels(Feature f) {
  return f == Feature::Cam || f == Feature::Faces ? 1 : row_elements(f);
}

std::vector<Feature> InputNormalisation::features() const {
  std::vector<Feature> out;
  for (const auto& [f, p] : features_) out.push_back(f);
  return out;
}

const std::vector<float>& InputNormalisation::mean(Feature f) const {
  const auto it = features_.find(f);
  if (it == features_.end()) throw Error(std::string("input normalisation: no statistics for '") + feature_spec(f).name + "'");
  return it->second.mean;
}

const std::vector<float>& InputNormalisation::stddev(Feature f) const {
  const auto it = features_.find(f);
  if (it == features_.end()) throw Error(std::string("input normalisation: no statistics for '") + feature_spec(f).name + "'");
  return it->second.std;
}

void InputNormalisation::normalise_rows(Feature f, const float* src, float* dst, int64_t rows) const {
  const auto it = features_.find(f);
  if (it == features_.end())
    throw Error(std::string("input normalisation has no statistics for '") + feature_spec(f).name + "'");
  const float* mean = it->second.row_mean.data();
  const float* divisor = it->second.row_divisor.data();
  const auto n = static_cast<int64_t>(it->second.row_mean.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t e = 0; e < n; ++e) dst[r * n + e] = (src[r * n + e] - mean[e]) / divisor[e];
}

void InputNormalisation::apply(std::map<Feature, Tensor>& inputs) const {
  if (!enabled()) return;
  for (auto& [f, t] : inputs) {
    if (t.dtype() != DType::F32 || !t.device().is_cpu())
      throw Error(std::string("input normalisation: '") + feature_spec(f).name + "' is " + t.str() + ", not f32 on the CPU");
    float* p = t.data<float>();
    normalise_rows(f, p, p, t.numel() / row_elements(f));
  }
}

void InputNormalisation::write(std::map<std::string, std::string>& metadata,
                               std::vector<std::pair<std::string, Tensor>>& tensors) const {
  if (!enabled()) return;
  metadata["format_version"] = "2";
  metadata[kKey] = kStandardise;
  metadata[kEpsKey] = float_text(eps_);
  for (const auto& [f, p] : features_) {
    const Shape shape{channels(f)};
    tensors.emplace_back(tensor_name(f, "mean"), Tensor::from_vector(shape, p.mean));
    tensors.emplace_back(tensor_name(f, "std"), Tensor::from_vector(shape, p.std));
  }
}

std::vector<std::string> InputNormalisation::tensor_names() const {
  std::vector<std::string> out;
  for (const auto& [f, p] : features_) out.insert(out.end(), {tensor_name(f, "mean"), tensor_name(f, "std")});
  return out;
}

InputNormalisation InputNormalisation::read(const SafetensorsFile& file, const std::string& path,
                                            const std::vector<Feature>& features) {
  const MetadataReader meta(file.metadata(), path, "model");
  const std::optional<std::string> key = meta.optional(kKey);
  if (!key) return {};
  if (*key != kStandardise)
    throw Error(path + ": metadata '" + kKey + "' is '" + *key + "'; this build knows '" + kStandardise + "'");
  const std::optional<std::string> version = meta.optional("format_version");
  if (version != "2")
    throw Error(path + ": the file claims input normalisation, which needs format_version 2 (it has '" +
                version.value_or("none") + "')");
  const std::optional<float> parsed_eps = parse_float(meta.optional(kEpsKey).value_or(""));
  if (!parsed_eps) throw Error(path + ": the file claims input normalisation but has no valid '" + kEpsKey + "'");
  const float eps = *parsed_eps;
  InputNormalisation out;
  out.eps_ = eps;
  if (!(eps > 0.0f) || !std::isfinite(eps)) throw Error(path + ": input normalisation eps " + float_text(eps) + " is not positive");
  for (Feature f : features) {
    std::vector<float> values[2];
    const char* what[2] = {"mean", "std"};
    for (int k = 0; k < 2; ++k) {
      const std::string name = tensor_name(f, what[k]);
      if (!file.contains(name))
        throw Error(path + ": the file claims input normalisation but has no tensor '" + name + "'");
      const SafetensorsTensorInfo& info = file.info(name);
      if (info.dtype->name != "F32" || info.shape != std::vector<int64_t>{channels(f)})
        throw Error(path + ": tensor '" + name + "' is not F32 [" + std::to_string(channels(f)) + "]");
      const Tensor t = file.get(name);
      values[k].assign(t.data<float>(), t.data<float>() + t.numel());
    }
    try {
      out.add(f, std::move(values[0]), std::move(values[1]));
    } catch (const Error& e) {
      throw Error(path + ": " + e.what());
    }
  }
  return out;
}

}  // namespace hl
