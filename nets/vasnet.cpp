#include "nets/vasnet.h"

#include <algorithm>
#include <charconv>
#include <utility>

#include "engine/autograd/elementwise.h"
#include "engine/autograd/linear.h"
#include "engine/autograd/norm.h"
#include "engine/autograd/shape_ops.h"
#include "engine/autograd/softmax.h"
#include "engine/error.h"
#include "nets/parameter_file.h"
#include "engine/optim/init.h"
#include "engine/safetensors.h"
#include "nets/segments.h"

namespace hl {

namespace {

constexpr const char* kFormat = "hl.vasnet";
constexpr const char* kFormatVersion = "1";
constexpr const char* kExtendedFormatVersion = "2";  // frame_step or input normalisation

// As the highlight model: a 64-bit FNV-1a hash of the name, rounded down to a multiple
// of 2^32 words, is where the parameter's draws start in the seed's Philox stream.
uint64_t init_offset(const std::string& name) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
  return h & ~0xFFFFFFFFull;
}

std::string float_text(float v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

const std::string& required(const std::map<std::string, std::string>& m, const std::string& key,
                            const std::string& source) {
  const auto it = m.find(key);
  if (it == m.end()) throw Error(source + ": the VASNet metadata has no '" + key + "'");
  return it->second;
}

template <typename T>
T parse_number(const std::map<std::string, std::string>& m, const std::string& key, const std::string& source) {
  const std::string& text = required(m, key, source);
  T value{};
  const auto r = std::from_chars(text.data(), text.data() + text.size(), value);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size())
    throw Error(source + ": VASNet metadata '" + key + "' is '" + text + "', not a number");
  return value;
}

Tensor filled(const Shape& shape, float value) {
  Tensor t = Tensor::empty(shape, DType::F32);
  std::fill(t.data<float>(), t.data<float>() + t.numel(), value);
  return t;
}

// Xavier uniform with a gain: gain · U(-l, l) = U(-gain · l, gain · l), l = sqrt(6 / (in + out)).
Tensor xavier_uniform(const Shape& shape, float gain, uint64_t seed, const std::string& name) {
  Tensor t = optim::glorot_uniform(shape, seed, init_offset(name));
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] *= gain;
  return t;
}

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
  const std::string& version = required(m, "format_version", source);
  if (version != kFormatVersion && version != kExtendedFormatVersion)
    throw Error(source + ": VASNet format version '" + version + "' is not supported (this build reads versions " +
                kFormatVersion + " and " + kExtendedFormatVersion + ")");
  VasnetConfig c;
  c.input = parse_number<int64_t>(m, "input", source);
  c.query_scale = parse_number<float>(m, "query_scale", source);
  c.attention_dropout = parse_number<float>(m, "attention_dropout", source);
  c.residual_dropout = parse_number<float>(m, "residual_dropout", source);
  c.hidden_dropout = parse_number<float>(m, "hidden_dropout", source);
  c.norm_eps = parse_number<float>(m, "norm_eps", source);
  c.kernel_gain = parse_number<float>(m, "kernel_gain", source);
  c.dense_bias = parse_number<float>(m, "dense_bias", source);
  if (m.count("frame_step")) {
    if (version == kFormatVersion) throw Error(source + ": VASNet metadata 'frame_step' needs format_version 2");
    c.frame_step = parse_number<int64_t>(m, "frame_step", source);
  }
  try {
    c.validate();
  } catch (const Error& e) {
    throw Error(source + ": " + e.what());
  }
  return c;
}

Vasnet::Vasnet(VasnetConfig config, uint64_t seed) : config_(config) {
  config_.validate();
  build(true, seed);
}

Vasnet::Vasnet(VasnetConfig config, Uninitialised) : config_(config) {
  config_.validate();
  build(false, 0);
}

ag::Variable Vasnet::add_parameter(const std::string& name, Tensor value) {
  ag::Variable v(std::move(value), true);
  params_.push_back({name, v});
  return v;
}

void Vasnet::build(bool initialise, uint64_t seed) {
  const int64_t d = config_.input;
  auto kernel = [&](const std::string& name, int64_t out) {
    const Shape shape{d, out};
    return add_parameter(name, initialise ? xavier_uniform(shape, config_.kernel_gain, seed, name)
                                          : Tensor::zeros(shape, DType::F32));
  };
  wk_ = kernel("attention.key.kernel", d);
  wq_ = kernel("attention.query.kernel", d);
  wv_ = kernel("attention.value.kernel", d);
  wo_ = kernel("attention.output.kernel", d);
  norm1_gain_ = add_parameter("norm1.gain", filled(Shape{d}, 1.0f));
  norm1_bias_ = add_parameter("norm1.bias", filled(Shape{d}, 0.0f));
  dense1_kernel_ = kernel("dense1.kernel", d);
  dense1_bias_ = add_parameter("dense1.bias", filled(Shape{d}, initialise ? config_.dense_bias : 0.0f));
  norm2_gain_ = add_parameter("norm2.gain", filled(Shape{d}, 1.0f));
  norm2_bias_ = add_parameter("norm2.bias", filled(Shape{d}, 0.0f));
  dense2_kernel_ = kernel("dense2.kernel", 1);
  dense2_bias_ = add_parameter("dense2.bias", filled(Shape{1}, initialise ? config_.dense_bias : 0.0f));
}

std::vector<ag::Variable> Vasnet::parameters() const {
  std::vector<ag::Variable> out;
  for (const NamedParameter& p : params_) out.push_back(p.value);
  return out;
}

int64_t Vasnet::parameter_count() const {
  int64_t n = 0;
  for (const NamedParameter& p : params_) n += p.value.value().numel();
  return n;
}

const ag::Variable& Vasnet::parameter(const std::string& name) const {
  for (const NamedParameter& p : params_)
    if (p.name == name) return p.value;
  throw Error("VASNet has no parameter '" + name + "'");
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
  save_parameter_file(path, params_, metadata, extra_metadata, "VASNet", tensors);
}

Vasnet Vasnet::load(const std::string& path, std::map<std::string, std::string>* metadata) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  Vasnet model(VasnetConfig::from_metadata(file.metadata(), path), Uninitialised{});
  model.set_input_normalisation(InputNormalisation::read(file, path, {Feature::GoogLeNet}));
  load_parameter_file(
      file, path, model.params_,
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
