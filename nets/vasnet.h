// VASNet, the paper's baseline (specs/paper.md, "VASNet baseline"; Fajtl et al.,
// "Summarizing Videos with Attention", 2018), over one video's GoogLeNet frame sequence
// x [T, 1024] (the 30-fps held frames of its labelled segments, T = 150 per segment):
//
//   K = x Wk, Q = 0.06 · x Wq, V = x Wv                  (1024 -> 1024, no bias)
//   A = softmax over each row of Q Kᵀ                     [T, T]
//   y = dropout(A)ᵀ V · Wo + x                            (output projection, no bias; residual)
//   [dropout(y), residual_dropout: 0 by default, see below]
//   y = LayerNorm(y)                                      (VASNet's: eps 1e-6 added to the unbiased std)
//   y = LayerNorm(dropout(relu(y W1 + b1)))               (dense 1024 -> 1024)
//   score = sigmoid(y W2 + b2)                            (dense 1024 -> 1) -> [T]
//
// A segment's prediction is the mean of its frames' scores (segment_means). With
// frame_step N > 1 (VasnetConfig) the sequence is every N-th held frame of the video
// (frames 0, N, 2N, ... of its 150-per-segment timeline: T/N frames, a [T/N, T/N]
// attention), and a segment's prediction is the mean over its kept frames. Inputs may be
// standardised (input_normalisation(), googlenet statistics), as the highlight model's.
//
// Differences from the published code (github.com/ok1zjf/VASNet, vasnet_model.py), kept
// configurable: that code also applies dropout 0.5 to the residual sum before the first
// LayerNorm, which the specification does not list (residual_dropout: 0 here, 0.5 there).
//
// Layouts are Keras's like the highlight model (dense kernels [in, out]; PyTorch's
// nn.Linear.weight is the kernel transposed). Parameters, in this order:
//   attention.key.kernel, attention.query.kernel, attention.value.kernel,
//   attention.output.kernel                               [1024, 1024]
//   norm1.gain, norm1.bias                                [1024]
//   dense1.kernel [1024, 1024], dense1.bias [1024]
//   norm2.gain, norm2.bias                                [1024]
//   dense2.kernel [1024, 1], dense2.bias [1]
// 5 · 1024² + 6 · 1024 + 1 = 5,249,025 parameters.
//
// Initialisation as the published code (main.py, weights_init): every linear kernel
// Xavier/Glorot uniform with gain sqrt(2), i.e. U(-l, l), l = sqrt(2) · sqrt(6 / (in + out));
// dense biases 0.1; LayerNorm gains 1 and biases 0. Each kernel draws from its own range
// of the seed's Philox stream, fixed by its name (as the highlight model's).
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/autograd/dropout.h"
#include "engine/autograd/variable.h"
#include "engine/tensor.h"
#include "nets/input_normalisation.h"
#include "nets/parameter_set.h"

namespace hl {

struct VasnetConfig {
  int64_t input = 1024;             // per-frame feature width (GoogLeNet)
  float query_scale = 0.06f;
  float attention_dropout = 0.5f;   // on the attention weights
  float residual_dropout = 0.0f;    // on the residual sum (the published code: 0.5; the specification: none)
  float hidden_dropout = 0.5f;      // after dense1's ReLU
  float norm_eps = 1e-6f;           // added to the unbiased standard deviation
  float kernel_gain = 1.41421356f;  // Xavier-uniform gain of every kernel (sqrt(2))
  float dense_bias = 0.1f;          // initial value of dense1.bias and dense2.bias
  // Every frame_step-th 30-fps held frame is used (1: all; the published code's 2 fps is
  // 15). Part of the model: it is predicted with the sampling it was trained with. At
  // most 150 (kTicksPerSegment), so that every 5-s segment keeps at least one frame.
  int64_t frame_step = 1;

  // Throws hl::Error for input < 2, a dropout rate outside [0, 1), eps < 0, frame_step
  // outside [1, 150].
  void validate() const;
  // As safetensors metadata: format "hl.vasnet", format_version "1", and every field
  // (shortest round-trip decimals); frame_step only when it is not 1, with
  // format_version "2" (Vasnet::save also writes 2 with input normalisation; a version
  // 1 file has frame step 1 and no normalisation). from_metadata reads versions 1 and
  // 2 and throws hl::Error naming `source` for another format or a missing or
  // malformed key.
  std::map<std::string, std::string> to_metadata() const;
  static VasnetConfig from_metadata(const std::map<std::string, std::string>& metadata, const std::string& source);
};

class Vasnet {
 public:
  explicit Vasnet(VasnetConfig config = {}, uint64_t seed = 0);
  Vasnet(const Vasnet&) = delete;
  Vasnet& operator=(const Vasnet&) = delete;
  Vasnet(Vasnet&&) = default;
  Vasnet& operator=(Vasnet&&) = default;

  const VasnetConfig& config() const { return config_; }
  const std::vector<NamedParameter>& named_parameters() const { return params_.named_parameters(); }
  std::vector<ag::Variable> parameters() const { return params_.parameters(); }
  int64_t parameter_count() const { return params_.parameter_count(); }
  // Throws hl::Error for an unknown name.
  const ag::Variable& parameter(const std::string& name) const { return params_.parameter(name); }

  // Per-frame scores [T] in (0, 1) for one video's frames x, f32 CPU [T, input], T >= 1.
  // training: dropout on; the masks use the stream words [rng.offset, rng.offset +
  // dropout_words(T)) of rng.seed, in order: attention [T, T], residual [T, input],
  // hidden [T, input] (every site keeps its words, whether or not its mask is used).
  ag::Variable forward(const Tensor& x, bool training, ag::DropoutRng rng = {}) const;
  uint64_t dropout_words(int64_t frames) const;

  // As HighlightModel's: googlenet statistics or none; forward() expects x standardised.
  const InputNormalisation& input_normalisation() const { return normalisation_; }
  void set_input_normalisation(InputNormalisation normalisation);

  // As HighlightModel: safetensors with every parameter by name, to_metadata() and the
  // input normalisation (plus `extra_metadata`, whose keys must not collide), written
  // atomically; load() checks every tensor's presence, type and shape, and that the
  // file holds nothing else.
  void save(const std::string& path, const std::map<std::string, std::string>& extra_metadata = {}) const;
  static Vasnet load(const std::string& path, std::map<std::string, std::string>* metadata = nullptr);

 private:
  // Without a seed (load()), every parameter starts at zero, to be overwritten.
  Vasnet(VasnetConfig config, std::optional<uint64_t> seed);
  void build();

  VasnetConfig config_;
  ag::Variable wk_, wq_, wv_, wo_, norm1_gain_, norm1_bias_, dense1_kernel_, dense1_bias_, norm2_gain_, norm2_bias_,
      dense2_kernel_, dense2_bias_;
  ParameterSet params_;  // nets/parameter_set.h: names, order, initial values, files
  InputNormalisation normalisation_;
};

// Frames kept of `segments` segments of `frames_per_segment` frames when every
// `frame_step`-th is used (frames 0, step, 2·step, ...): ceil(segments · fps / step).
int64_t kept_frames(int64_t segments, int64_t frames_per_segment, int64_t frame_step);

// A segment's prediction from the scores of the kept frames [kept_frames(S, fps, step)]
// of S segments: the mean of the scores of its kept frames (kept frame k is frame
// k · step, in segment floor(k · step / fps)), summed in double. frame_step 1: the mean
// of each consecutive run of fps scores. Throws hl::Error for a length that does not
// match S or a step above fps (a segment without a frame).
std::vector<float> segment_means(const Tensor& kept_scores, int64_t segments, int64_t frames_per_segment,
                                 int64_t frame_step = 1);

}  // namespace hl
