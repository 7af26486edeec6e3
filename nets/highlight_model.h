// The paper's modular highlight model (specs/paper.md, "The model"; docs/model.md) for
// any subset of the six features, on the autograd tape so that it trains:
//
//   per feature, per frame:  googlenet/places365/affect  dense D->64, ReLU, dropout 0.5
//                            cam     conv 64 filters 14x14 valid (-> 1x1) -> dense 64->64, ReLU, dropout 0.5
//                            faces   identity (1 value)
//                            mfcc    over 4T rows: conv1d 13->64 k3 same, ReLU, maxpool 2
//                                    -> conv1d 64->128 k3 same, ReLU, maxpool 2 (-> T rows)
//   concat per frame (paper's feature order) [B, T, d]
//   BiLSTM(h), Keras single bias, input and recurrent dropout -> last fwd || last bwd [B, 2h]
//   dense 2h->h, ReLU, dropout 0.5 -> dense h->1 -> score [B]
//
// Layouts are Keras's (channels last, kernels [..., in, out]; see docs/model.md for the
// PyTorch mapping). Parameters have stable names ("googlenet.dense.kernel", ...), are
// initialised from a seed (Glorot uniform kernels, orthogonal recurrent kernels, zero
// biases), and a model file is safetensors with the configuration in its metadata and,
// when the model was trained on standardised inputs, their statistics
// (nets/input_normalisation.h).
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/autograd/dropout.h"
#include "engine/autograd/lstm.h"
#include "engine/autograd/variable.h"
#include "engine/tensor.h"
#include "nets/features.h"
#include "nets/highlight_model_config.h"
#include "nets/input_normalisation.h"
#include "nets/parameter_set.h"

namespace hl {

class HighlightModel {
 public:
  // A model initialised from `seed`: Glorot-uniform kernels, orthogonal recurrent
  // kernels, zero biases (forget gate 1 with unit_forget_bias). Each parameter draws
  // from its own range of the seed's Philox stream, fixed by its name, so a parameter's
  // initial value depends only on (seed, name, shape).
  explicit HighlightModel(HighlightModelConfig config, uint64_t seed = 0);
  // Parameters are shared Variables: a copy would silently share them.
  HighlightModel(const HighlightModel&) = delete;
  HighlightModel& operator=(const HighlightModel&) = delete;
  HighlightModel(HighlightModel&&) = default;
  HighlightModel& operator=(HighlightModel&&) = default;

  const HighlightModelConfig& config() const { return config_; }
  // Every parameter, in a fixed order: the encoders in the paper's feature order, then
  // the BiLSTM (forward, backward), then the head.
  const std::vector<NamedParameter>& named_parameters() const { return params_.named_parameters(); }
  std::vector<ag::Variable> parameters() const { return params_.parameters(); }
  int64_t parameter_count() const { return params_.parameter_count(); }
  // Throws hl::Error for an unknown name.
  const ag::Variable& parameter(const std::string& name) const { return params_.parameter(name); }

  // The standardisation the model's inputs get (none by default): forward() expects
  // inputs already standardised with it (SegmentDataset::batch does it when given it,
  // as predict_segments and hl-train do). set_input_normalisation requires statistics
  // for exactly the model's features (or none); they are saved with the model.
  const InputNormalisation& input_normalisation() const { return normalisation_; }
  void set_input_normalisation(InputNormalisation normalisation);

  // Scores [B] for a batch of segments. inputs: every feature of the model, f32 CPU,
  //   googlenet [B, T, 1024], places365 [B, T, 2048], affect [B, T, 128],
  //   cam [B, T, 14, 14], faces [B, T, 1], mfcc [B, 4T, 13]  (T = 150 for 5-s segments).
  // googlenet, places365 and affect may instead be f16 as the feature files store them,
  // not yet standardised, with the model on the CPU: the model converts and standardises
  // them (with input_normalisation()) a block of rows at a time inside the dense layer,
  // in the forward pass and again for the weight gradient, so the batch is never held in
  // f32 (issue 18; SegmentDataset::batch's dense_as_stored). The scores are the same as
  // for the f32 rows SegmentDataset::batch would give; the weight gradient differs by
  // rounding only (summed a block at a time, ag::linear_from_rows).
  // Extra features are ignored. training: dropout on; the masks come from the stream
  // words [rng.offset, rng.offset + dropout_words(B, T)) of rng.seed, so a training loop
  // advances rng.offset by that much per step. Throws hl::Error naming the feature for
  // a missing input or a wrong shape.
  ag::Variable forward(const std::map<Feature, Tensor>& inputs, bool training, ag::DropoutRng rng = {}) const;
  // How many Philox words one training forward pass uses for its dropout masks.
  uint64_t dropout_words(int64_t batch, int64_t frames) const;

  // Writes every parameter, config().to_metadata() and the input normalisation
  // (format_version 2 with it, 1 without; nets/input_normalisation.h), plus
  // `extra_metadata` (its keys must not collide with those), to a safetensors file,
  // atomically.
  void save(const std::string& path, const std::map<std::string, std::string>& extra_metadata = {}) const;
  // Reads a file written by save() (format_version 1 or 2): the configuration from the
  // metadata, the input normalisation (none in a version 1 file), then every parameter,
  // checking that each one is present, F32, of the right shape, and that the file holds
  // nothing else. `metadata`, when given, receives the whole metadata.
  static HighlightModel load(const std::string& path, std::map<std::string, std::string>* metadata = nullptr);

 private:
  // One layer's kernel and bias (dense [in, out], conv1d [k, c_in, c_out],
  // conv2d [kh, kw, c_in, c_out]; bias [out]).
  struct Layer {
    ag::Variable kernel, bias;
  };
  // Without a seed (load()), every parameter starts at zero, to be overwritten.
  HighlightModel(HighlightModelConfig config, std::optional<uint64_t> seed);
  void build();
  Layer add_layer(const std::string& name, const Shape& kernel_shape);
  ag::Variable encode(Feature f, const Tensor& input, bool training, ag::DropoutRng& rng) const;

  HighlightModelConfig config_;
  std::map<Feature, std::vector<Layer>> encoders_;  // in forward order; none for faces
  ag::LstmParams lstm_forward_, lstm_backward_;
  Layer head_hidden_, head_output_;                 // dense 2h->h, dense h->1
  ParameterSet params_;                             // nets/parameter_set.h: names, order, initial values, files
  InputNormalisation normalisation_;
};

}  // namespace hl
