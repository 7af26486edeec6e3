#include "nets/highlight_model.h"

#include <algorithm>
#include <utility>

#include "engine/autograd/conv2d.h"
#include "engine/autograd/conv_pool.h"
#include "engine/autograd/elementwise.h"
#include "engine/autograd/linear.h"
#include "engine/autograd/shape_ops.h"
#include "engine/error.h"
#include "engine/safetensors.h"
#include "nets/stored_rows.h"

namespace hl {

namespace {

constexpr int64_t kEncoderUnits = 64;  // dense encoders and the CAM convolution's filters
constexpr int64_t kMfccConv1 = 64, kMfccConv2 = 128, kMfccKernel = 3;
// An f16 input goes through its dense layer in blocks of about 2 MiB of f32 rows (kept in
// the cache while they are multiplied), at least 64 rows (the product kernel's minimum).
constexpr int64_t kStoredBlockBytes = int64_t{2} << 20;

bool is_dense_feature(Feature f) { return f == Feature::GoogLeNet || f == Feature::Places365 || f == Feature::Affect; }

HighlightModelConfig normalised(HighlightModelConfig config) {
  config.validate_and_normalise();
  return config;
}

std::string feature_name(Feature f) { return feature_spec(f).name; }

// The shape a feature's input must have for B segments of T frames.
Shape expected_input_shape(Feature f, int64_t batch, int64_t frames) {
  const FeatureSpec& spec = feature_spec(f);
  std::vector<int64_t> dims{batch, frames * spec.rows_per_frame};
  if (spec.frame_shape.empty()) dims.push_back(1);  // faces: one value per frame, [B, T, 1]
  dims.insert(dims.end(), spec.frame_shape.begin(), spec.frame_shape.end());
  return Shape(dims);
}

// Inverted dropout at the next `x.numel()` words of the stream, which advances whether
// or not the mask is used so that every site keeps its place in the stream.
ag::Variable dropout_site(const ag::Variable& x, float p, bool training, ag::DropoutRng& stream) {
  const ag::DropoutRng site = stream;
  stream.offset += static_cast<uint64_t>(x.value().numel());
  if (!training || p == 0.0f) return x;
  return ag::dropout(x, p, true, site);
}

}  // namespace

HighlightModel::HighlightModel(HighlightModelConfig config, uint64_t seed)
    : HighlightModel(std::move(config), std::optional<uint64_t>(seed)) {}

HighlightModel::HighlightModel(HighlightModelConfig config, std::optional<uint64_t> seed)
    : config_(normalised(std::move(config))),
      params_("highlight model (" + feature_list_string(config_.features) + ")", seed) {
  build();
}

HighlightModel::Layer HighlightModel::add_layer(const std::string& name, const Shape& kernel_shape) {
  Layer layer;
  layer.kernel = params_.add(name + ".kernel", kernel_shape, initialiser::glorot_uniform());
  layer.bias = params_.add(name + ".bias", Shape{kernel_shape[kernel_shape.ndim() - 1]}, initialiser::zeros());
  return layer;
}

void HighlightModel::build() {
  for (Feature f : config_.features) {
    const std::string n = feature_name(f);
    std::vector<Layer>& layers = encoders_[f];
    switch (f) {
      case Feature::GoogLeNet:
      case Feature::Places365:
      case Feature::Affect:
        layers.push_back(add_layer(n + ".dense", Shape{feature_spec(f).frame_shape[0], kEncoderUnits}));
        break;
      case Feature::Cam: {
        const int64_t side_h = feature_spec(f).frame_shape[0], side_w = feature_spec(f).frame_shape[1];
        layers.push_back(add_layer(n + ".conv", Shape{side_h, side_w, 1, kEncoderUnits}));
        layers.push_back(add_layer(n + ".dense", Shape{kEncoderUnits, kEncoderUnits}));
        break;
      }
      case Feature::Faces:
        break;
      case Feature::Mfcc:
        layers.push_back(add_layer(n + ".conv1", Shape{kMfccKernel, feature_spec(f).frame_shape[0], kMfccConv1}));
        layers.push_back(add_layer(n + ".conv2", Shape{kMfccKernel, kMfccConv1, kMfccConv2}));
        break;
    }
  }
  const int64_t d = concat_width(config_.features), h = config_.hidden;
  for (auto [prefix, params] : {std::pair{"bilstm.forward", &lstm_forward_}, std::pair{"bilstm.backward", &lstm_backward_}}) {
    const std::string p = prefix;
    params->kernel = params_.add(p + ".kernel", Shape{d, 4 * h}, initialiser::glorot_uniform());
    params->recurrent = params_.add(p + ".recurrent_kernel", Shape{h, 4 * h}, initialiser::orthogonal());
    params->bias = params_.add(p + ".bias", Shape{4 * h}, initialiser::lstm_bias(config_.unit_forget_bias));
  }
  head_hidden_ = add_layer("head.dense1", Shape{2 * h, h});
  head_output_ = add_layer("head.dense2", Shape{h, 1});
}

ag::Variable HighlightModel::encode(Feature f, const Tensor& input, bool training, ag::DropoutRng& stream) const {
  const ag::Variable x(input);
  const std::vector<Layer>& layers = encoders_.at(f);
  const int64_t batch = input.size(0);
  switch (f) {
    case Feature::GoogLeNet:
    case Feature::Places365:
    case Feature::Affect: {  // [B, T, D] -> [B, T, 64]
      if (input.dtype() == DType::F16) {  // as stored: converted and standardised a block at a time
        const int64_t frames = input.size(1), width = input.size(2);
        const int64_t block = std::max<int64_t>(64, kStoredBlockBytes / static_cast<int64_t>(sizeof(float) * width));
        const ag::Variable rows = ag::linear_from_rows(stored_rows(f, input, normalisation_), batch * frames, width,
                                                       layers[0].kernel, layers[0].bias, block);  // [B * T, 64]
        const ag::Variable y = ag::relu(ag::reshape(rows, {batch, frames, kEncoderUnits}));
        return dropout_site(y, config_.encoder_dropout, training, stream);
      }
      const ag::Variable y = ag::relu(ag::linear(x, layers[0].kernel, layers[0].bias));
      return dropout_site(y, config_.encoder_dropout, training, stream);
    }
    case Feature::Cam: {  // [B, T, 14, 14] -> [B * T, 14, 14, 1] -> conv [B * T, 1, 1, 64] -> [B, T, 64]
      const int64_t frames = input.size(1);
      const ag::Variable maps = ag::reshape(x, {batch * frames, input.size(2), input.size(3), 1});
      const ag::Variable conv = ag::conv2d(maps, layers[0].kernel, layers[0].bias);
      const ag::Variable per_frame = ag::reshape(conv, {batch, frames, kEncoderUnits});
      const ag::Variable y = ag::relu(ag::linear(per_frame, layers[1].kernel, layers[1].bias));
      return dropout_site(y, config_.encoder_dropout, training, stream);
    }
    case Feature::Faces:  // [B, T, 1]
      return x;
    case Feature::Mfcc: {  // [B, 4T, 13] -> [B, 2T, 64] -> [B, T, 128]
      const ag::Variable y1 = ag::maxpool1d_2(ag::relu(ag::conv1d_same(x, layers[0].kernel, layers[0].bias)));
      return ag::maxpool1d_2(ag::relu(ag::conv1d_same(y1, layers[1].kernel, layers[1].bias)));
    }
  }
  throw Error("highlight model: unknown feature");
}

uint64_t HighlightModel::dropout_words(int64_t batch, int64_t frames) const {
  uint64_t words = 0;
  for (Feature f : config_.features)
    if (f != Feature::Faces && f != Feature::Mfcc) words += static_cast<uint64_t>(batch * frames * kEncoderUnits);
  const int64_t d = concat_width(config_.features), h = config_.hidden;
  words += static_cast<uint64_t>(2 * batch * (d + h));  // BiLSTM: input and recurrent masks per direction
  words += static_cast<uint64_t>(batch * h);            // head
  return words;
}

ag::Variable HighlightModel::forward(const std::map<Feature, Tensor>& inputs, bool training,
                                     ag::DropoutRng rng) const {
  // B and T from the first feature (in the paper's order); every input must agree.
  auto input_of = [&](Feature f) -> const Tensor& {
    const auto it = inputs.find(f);
    if (it == inputs.end())
      throw Error("highlight model: the batch has no '" + feature_name(f) + "' input (the model uses " +
                  feature_list_string(config_.features) + ")");
    return it->second;
  };
  const Feature first = config_.features[0];
  const Tensor& lead = input_of(first);
  const int64_t batch = lead.ndim() >= 2 ? lead.size(0) : 0;
  const int64_t frames = lead.ndim() >= 2 ? lead.size(1) / feature_spec(first).rows_per_frame : 0;
  const bool on_cpu = head_output_.kernel.value().device().is_cpu();
  for (Feature f : config_.features) {
    const Tensor& t = input_of(f);
    const Shape want = expected_input_shape(f, batch, frames);
    // f16 as stored, for the dense features on the CPU only (see forward() in the header).
    const bool stored_ok = t.dtype() == DType::F16 && is_dense_feature(f) && t.device().is_cpu() &&
                           on_cpu;
    if (batch < 1 || frames < 1 || !(t.shape() == want) || (t.dtype() != DType::F32 && !stored_ok))
      throw Error("highlight model: input '" + feature_name(f) + "' is " + t.str() + "; expected f32" + want.str() +
                  " (" + std::to_string(batch) + " segments of " + std::to_string(frames) + " frames, from '" +
                  feature_name(first) + "', at least one of each" +
                  (is_dense_feature(f) ? "; or f16 as stored, with the model on the CPU)" : ")"));
  }
  ag::DropoutRng stream = rng;
  std::vector<ag::Variable> encodings;
  for (Feature f : config_.features) encodings.push_back(encode(f, inputs.at(f), training, stream));
  const ag::Variable x = encodings.size() == 1 ? encodings[0] : ag::concat(encodings, 2);  // [B, T, d]

  ag::BiLstmOptions o;
  o.input_dropout = config_.lstm_input_dropout;
  o.recurrent_dropout = config_.lstm_recurrent_dropout;
  o.training = training;
  o.rng = stream;
  const ag::Variable states = ag::bilstm(x, lstm_forward_, lstm_backward_, o);  // [B, 2h]
  stream.offset += static_cast<uint64_t>(2 * batch * (x.size(2) + config_.hidden));

  const ag::Variable hidden = ag::relu(ag::linear(states, head_hidden_.kernel, head_hidden_.bias));  // [B, h]
  const ag::Variable dropped = dropout_site(hidden, config_.head_dropout, training, stream);
  const ag::Variable score = ag::linear(dropped, head_output_.kernel, head_output_.bias);  // [B, 1]
  if (stream.offset - rng.offset != dropout_words(batch, frames))
    throw Error("highlight model: internal error: dropout_words() disagrees with forward()");
  return ag::reshape(score, {batch});
}

void HighlightModel::set_input_normalisation(InputNormalisation normalisation) {
  if (normalisation.enabled() && normalisation.features() != config_.features)
    throw Error("highlight model (" + feature_list_string(config_.features) + "): input normalisation statistics for " +
                feature_list_string(normalisation.features()) + " do not fit");
  normalisation_ = std::move(normalisation);
}

void HighlightModel::save(const std::string& path, const std::map<std::string, std::string>& extra_metadata) const {
  std::map<std::string, std::string> metadata = config_.to_metadata();
  std::vector<std::pair<std::string, Tensor>> tensors;
  normalisation_.write(metadata, tensors);
  params_.save(path, std::move(metadata), extra_metadata, "model", tensors);
}

HighlightModel HighlightModel::load(const std::string& path, std::map<std::string, std::string>* metadata) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  HighlightModel model(HighlightModelConfig::from_metadata(file.metadata(), path), std::nullopt);
  model.normalisation_ = InputNormalisation::read(file, path, model.config_.features);
  const std::string what = "a model of " + feature_list_string(model.config_.features);
  model.params_.load(
      file, path,
      [&](const std::string& name) {
        return "the model has no tensor '" + name + "' (" + what + " with hidden size " +
               std::to_string(model.config_.hidden) + " needs it)";
      },
      [&](const std::string& name) { return "tensor '" + name + "' is not a parameter of " + what; },
      model.normalisation_.tensor_names());
  if (metadata) *metadata = file.metadata();
  return model;
}

}  // namespace hl
