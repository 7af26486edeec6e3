#include "nets/vasnet.h"

#include <algorithm>
#include <utility>

#include "engine/autograd/elementwise.h"
#include "engine/autograd/linear.h"
#include "engine/autograd/norm.h"
#include "engine/autograd/shape_ops.h"
#include "engine/autograd/softmax.h"
#include "engine/error.h"
#include "engine/float_text.h"
#include "engine/safetensors.h"
#include "nets/segments.h"

namespace hl {

namespace {

constexpr const char* kFormat = "hl.vasnet";
constexpr const char* kFormatVersion = "1";
constexpr const char* kExtendedFormatVersion = "2";  // frame_step or input normalisation

// Inverted dropout at the next `x.numel()` words of the stream, which advances whether
// or not the mask is used (every site keeps its place in the stream).
ag::Variable dropout_site(const ag::Variable& x, float p, bool training, ag::DropoutRng& stream) {
  const ag::DropoutRng site = stream;
  stream.offset += static_cast<uint64_t>(x.value().numel());
  if (!training || p == 0.0f) return x;
  return ag::dropout(x, p, true, site);
}

}  // namespace

void VasnetConfig::validate() const {
  if (input < 2) throw Error("VASNet: input width " + std::to_string(input) + " must be at least 2");
  for (auto [p, name] : {std::pair{attention_dropout, "attention dropout"}, std::pair{residual_dropout, "residual dropout"},
                         std::pair{hidden_dropout, "hidden dropout"}})
    if (!(p >= 0.0f && p < 1.0f)) throw Error(std::string("VASNet: ") + name + " " + float_text(p) + " is outside [0, 1)");
  if (!(norm_eps >= 0.0f)) throw Error("VASNet: norm eps " + float_text(norm_eps) + " is negative");
  if (frame_step < 1 || frame_step > kTicksPerSegment)
    throw Error("VASNet: frame step " + std::to_string(frame_step) + " is outside [1, " +
                std::to_string(kTicksPerSegment) + "] (a larger step leaves 5-s segments of " +
                std::to_string(kTicksPerSegment) + " frames without a frame)");
}

std::map<std::string, std::string> VasnetConfig::to_metadata() const {
  std::map<std::string, std::string> m = {
      {"format", kFormat},
      {"format_version", kFormatVersion},
      {"input", std::to_string(input)},
      {"query_scale", float_text(query_scale)},
      {"attention_dropout", float_text(attention_dropout)},
      {"residual_dropout", float_text(residual_dropout)},
      {"hidden_dropout", float_text(hidden_dropout)},
      {"norm_eps", float_text(norm_eps)},
      {"kernel_gain", float_text(kernel_gain)},
      {"dense_bias", float_text(dense_bias)},
  };
  if (frame_step != 1) {
    m["format_version"] = kExtendedFormatVersion;
    m["frame_step"] = std::to_string(frame_step);
  }
  return m;
}

VasnetConfig VasnetConfig::from_metadata(const std::map<std::string, std::string>& m, const std::string& source) {
  const auto format = m.find("format");
  if (format == m.end() || format->second != kFormat)
    throw Error(source + ": not a VASNet model file (metadata 'format' is not '" + kFormat + "')");
  const MetadataReader meta(m, source, "VASNet");
  const std::string& version = meta.required("format_version");
  if (version != kFormatVersion && version != kExtendedFormatVersion)
    throw Error(source + ": VASNet format version '" + version + "' is not supported (this build reads versions " +
                kFormatVersion + " and " + kExtendedFormatVersion + ")");
  VasnetConfig c;
  c.input = meta.integer("input");
  c.query_scale = meta.real("query_scale");
  c.attention_dropout = meta.real("attention_dropout");
  c.residual_dropout = meta.real("residual_dropout");
  c.hidden_dropout = meta.real("hidden_dropout");
  c.norm_eps = meta.real("norm_eps");
  c.kernel_gain = meta.real("kernel_gain");
  c.dense_bias = meta.real("dense_bias");
  if (meta.has("frame_step")) {
    if (version == kFormatVersion) throw Error(source + ": VASNet metadata 'frame_step' needs format_version 2");
    c.frame_step = meta.integer("frame_step");
  }
  try {
    c.validate();
  } catch (const Error& e) {
    throw Error(source + ": " + e.what());
  }
  return c;
}

Vasnet::Vasnet(VasnetConfig config, uint64_t seed) : Vasnet(config, std::optional<uint64_t>(seed)) {}

Vasnet::Vasnet(VasnetConfig config, std::optional<uint64_t> seed) : config_(config), params_("VASNet", seed) {
  config_.validate();
  build();
}

void Vasnet::build() {
  const int64_t d = config_.input;
  // Xavier uniform with the published code's gain for every linear kernel [d, out].
  const Initialiser kernel = initialiser::glorot_uniform(config_.kernel_gain);
  wk_ = params_.add("attention.key.kernel", Shape{d, d}, kernel);
  wq_ = params_.add("attention.query.kernel", Shape{d, d}, kernel);
  wv_ = params_.add("attention.value.kernel", Shape{d, d}, kernel);
  wo_ = params_.add("attention.output.kernel", Shape{d, d}, kernel);
  norm1_gain_ = params_.add("norm1.gain", Shape{d}, initialiser::constant(1.0f));
  norm1_bias_ = params_.add("norm1.bias", Shape{d}, initialiser::zeros());
  dense1_kernel_ = params_.add("dense1.kernel", Shape{d, d}, kernel);
  dense1_bias_ = params_.add("dense1.bias", Shape{d}, initialiser::constant(config_.dense_bias));
  norm2_gain_ = params_.add("norm2.gain", Shape{d}, initialiser::constant(1.0f));
  norm2_bias_ = params_.add("norm2.bias", Shape{d}, initialiser::zeros());
  dense2_kernel_ = params_.add("dense2.kernel", Shape{d, 1}, kernel);
  dense2_bias_ = params_.add("dense2.bias", Shape{1}, initialiser::constant(config_.dense_bias));
}

uint64_t Vasnet::dropout_words(int64_t frames) const {
  return static_cast<uint64_t>(frames * frames + 2 * frames * config_.input);
}

ag::Variable Vasnet::forward(const Tensor& input, bool training, ag::DropoutRng rng) const {
  const int64_t d = config_.input;
  if (!input.defined() || input.ndim() != 2 || input.size(0) < 1 || input.size(1) != d || input.dtype() != DType::F32)
    throw Error("VASNet: input is " + (input.defined() ? input.str() : std::string("undefined")) + "; expected f32[T, " +
                std::to_string(d) + "] (one video's frames, T >= 1)");
  const int64_t frames = input.size(0);
  const ag::Variable x(input);
  const ag::Variable none;
  ag::DropoutRng stream = rng;

  // Self-attention.
  const ag::Variable k = ag::linear(x, wk_, none);                             // [T, d]
  const ag::Variable q = ag::scale(ag::linear(x, wq_, none), config_.query_scale);
  const ag::Variable v = ag::linear(x, wv_, none);
  const ag::Variable logits = ag::matmul(q, k, false, /*trans_b=*/true);      // [T, T] = Q Kᵀ
  const ag::Variable attention = ag::softmax(logits, -1);                     // each row sums to 1
  const ag::Variable weights = dropout_site(attention, config_.attention_dropout, training, stream);
  const ag::Variable mixed = ag::matmul(weights, v, /*trans_a=*/true);         // Aᵀ V [T, d]
  const ag::Variable projected = ag::linear(mixed, wo_, none);
  ag::Variable y = ag::add(projected, x);                                     // residual
  y = dropout_site(y, config_.residual_dropout, training, stream);
  y = ag::layer_norm_vasnet(y, norm1_gain_, norm1_bias_, config_.norm_eps);

  // Frame-level regression.
  y = ag::relu(ag::linear(y, dense1_kernel_, dense1_bias_));
  y = dropout_site(y, config_.hidden_dropout, training, stream);
  y = ag::layer_norm_vasnet(y, norm2_gain_, norm2_bias_, config_.norm_eps);
  const ag::Variable score = ag::sigmoid(ag::linear(y, dense2_kernel_, dense2_bias_));  // [T, 1]
  if (stream.offset - rng.offset != dropout_words(frames))
    throw Error("VASNet: internal error: dropout_words() disagrees with forward()");
  return ag::reshape(score, {frames});
}

void Vasnet::set_input_normalisation(InputNormalisation normalisation) {
  if (normalisation.enabled() && normalisation.features() != std::vector<Feature>{Feature::GoogLeNet})
    throw Error("VASNet: input normalisation statistics for " + feature_list_string(normalisation.features()) +
                " do not fit (it reads googlenet)");
  if (normalisation.enabled() && InputNormalisation::channels(Feature::GoogLeNet) != config_.input)
    throw Error("VASNet: googlenet statistics do not fit its input width " + std::to_string(config_.input));
  normalisation_ = std::move(normalisation);
}

void Vasnet::save(const std::string& path, const std::map<std::string, std::string>& extra_metadata) const {
  std::map<std::string, std::string> metadata = config_.to_metadata();
  std::vector<std::pair<std::string, Tensor>> tensors;
  normalisation_.write(metadata, tensors);
  params_.save(path, std::move(metadata), extra_metadata, "VASNet", tensors);
}

Vasnet Vasnet::load(const std::string& path, std::map<std::string, std::string>* metadata) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  Vasnet model(VasnetConfig::from_metadata(file.metadata(), path), std::nullopt);
  model.set_input_normalisation(InputNormalisation::read(file, path, {Feature::GoogLeNet}));
  model.params_.load(
      file, path,
      [](const std::string& name) { return "the VASNet file has no tensor '" + name + "'"; },
      [](const std::string& name) { return "tensor '" + name + "' is not a VASNet parameter"; },
      model.normalisation_.tensor_names());
  if (metadata) *metadata = file.metadata();
  return model;
}

int64_t kept_frames(int64_t segments, int64_t frames_per_segment, int64_t frame_step) {
  if (segments < 0 || frames_per_segment < 1 || frame_step < 1)
    throw Error("kept_frames: " + std::to_string(segments) + " segments of " + std::to_string(frames_per_segment) +
                " frames, step " + std::to_string(frame_step));
  return (segments * frames_per_segment + frame_step - 1) / frame_step;
}

std::vector<float> segment_means(const Tensor& kept_scores, int64_t segments, int64_t frames_per_segment,
                                 int64_t frame_step) {
  const Tensor s = kept_scores.to(Device::cpu());
  if (frame_step < 1 || frame_step > frames_per_segment)
    throw Error("segment_means: frame step " + std::to_string(frame_step) + " leaves segments of " +
                std::to_string(frames_per_segment) + " frames without a frame");
  const int64_t kept = kept_frames(segments, frames_per_segment, frame_step);
  if (s.dtype() != DType::F32 || s.numel() != kept)
    throw Error("segment_means: " + s.str() + " is not f32 with the " + std::to_string(kept) + " kept frames of " +
                std::to_string(segments) + " segments of " + std::to_string(frames_per_segment) + " frames at step " +
                std::to_string(frame_step));
  const float* p = s.data<float>();
  std::vector<double> sum(static_cast<size_t>(segments), 0.0);  // in double: independent of the rounding order
  std::vector<int64_t> count(static_cast<size_t>(segments), 0);
  for (int64_t k = 0; k < kept; ++k) {
    const auto seg = static_cast<size_t>(k * frame_step / frames_per_segment);
    sum[seg] += p[k];
    ++count[seg];
  }
  std::vector<float> out(static_cast<size_t>(segments));
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(sum[i] / static_cast<double>(count[i]));
  return out;
}

}  // namespace hl
