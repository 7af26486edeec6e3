// Random weights for GoogLeNet and the Places365 ResNet50 with our names and layouts
// (nets/cnn_weights.h; weights/googlenet_map.h, weights/resnet50_map.h): He-uniform convs,
// BatchNorm statistics away from the identity, folded or not; ResNet50's residual branches
// at a reduced gain so that the activations of its 16 blocks stay well inside f16's range.
// Shared by tests/cuda/test_cuda_cnn.cpp (seeds 5000 and 7000), whose
// RandomWeightFixtureIsSoundOnCpu checks that it gives finite, non-vanishing logits, and
// tests/cuda/test_cuda_extract.cpp;
// write_cnn_weight_file() saves it as hl-convert would (the "hl.net" metadata that
// GoogLeNet::load / ResNet50::load check).
#pragma once
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/safetensors.h"
#include "engine/tensor.h"
#include "support/test_support.h"
#include "weights/googlenet_map.h"
#include "weights/resnet50_map.h"

namespace hl::test {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class RandomCnnWeights {
 public:
  RandomCnnWeights(bool folded, uint32_t seed) : folded_(folded), seed_(seed) {}
  // gain scales the layer's output.
  void conv(const std::string& name, int64_t c_in, int64_t c_out, int64_t k, float gain = 1.0f) {
    const float a = gain * std::sqrt(6.0f / static_cast<float>(k * k * c_in));
    add(name + ".weight", {k, k, c_in, c_out}, -a, a);
    if (folded_) {
      add(name + ".bias", {c_out}, -0.1f * gain, 0.1f * gain);
      return;
    }
    add(name + ".bn.weight", {c_out}, 0.8f, 1.2f);
    add(name + ".bn.bias", {c_out}, -0.1f, 0.1f);
    add(name + ".bn.running_mean", {c_out}, -0.1f, 0.1f);
    add(name + ".bn.running_var", {c_out}, 0.5f, 1.5f);
  }
  void linear(const std::string& name, int64_t in, int64_t out) {
    const float a = std::sqrt(3.0f / static_cast<float>(in));
    add(name + ".weight", {in, out}, -a, a);
    add(name + ".bias", {out}, -0.1f, 0.1f);
  }
  const NamedTensors& tensors() const { return tensors_; }

 private:
  void add(const std::string& name, const Shape& shape, float lo, float hi) {
    tensors_.emplace_back(name, Tensor::from_vector(shape, random_floats(shape.numel(), ++seed_, lo, hi)));
  }
  bool folded_;
  uint32_t seed_;
  NamedTensors tensors_;
};

inline NamedTensors random_googlenet_weights(bool folded) {
  RandomCnnWeights w(folded, 5000);
  w.conv("conv1", 3, 64, 7);
  w.conv("conv2", 64, 64, 1);
  w.conv("conv3", 64, 192, 3);
  for (const InceptionWidths& b : kGoogLeNetInception) {
    const std::string p = b.name;
    w.conv(p + ".branch1", b.in, b.ch1x1, 1);
    w.conv(p + ".branch2.0", b.in, b.ch3x3red, 1);
    w.conv(p + ".branch2.1", b.ch3x3red, b.ch3x3, 3);
    w.conv(p + ".branch3.0", b.in, b.ch5x5red, 1);
    w.conv(p + ".branch3.1", b.ch5x5red, b.ch5x5, 3);
    w.conv(p + ".branch4.1", b.in, b.pool_proj, 1);
  }
  w.linear("fc", kGoogLeNetEmbedding, 1000);
  return w.tensors();
}

inline NamedTensors random_resnet50_weights(bool folded, int64_t classes = 365) {
  RandomCnnWeights w(folded, 7000);
  w.conv("conv1", 3, 64, 7);
  int64_t in = 64;
  for (size_t s = 0; s < kResNet50Blocks.size(); ++s) {
    const int64_t width = kResNet50Widths[s], out = width * kResNet50Expansion;
    for (int64_t b = 0; b < kResNet50Blocks[s]; ++b) {
      const std::string p = "layer" + std::to_string(s + 1) + "." + std::to_string(b);
      w.conv(p + ".conv1", in, width, 1);
      w.conv(p + ".conv2", width, width, 3);
      w.conv(p + ".conv3", width, out, 1, 0.5f);
      if (b == 0) w.conv(p + ".downsample", in, out, 1, 0.5f);
      in = out;
    }
  }
  w.linear("fc", kResNet50Embedding, classes);
  return w.tensors();
}

// Saves a net's tensors as a converted weight file: net is "googlenet" or "resnet50"
// (the "hl.net" the loaders check), with the metadata hl-convert writes.
inline void write_cnn_weight_file(const std::string& path, const std::string& net, const NamedTensors& tensors,
                                  int64_t classes) {
  const std::map<std::string, std::string> meta = {
      {"hl.net", net}, {"hl.classes", std::to_string(classes)}, {"hl.format_version", "1"}};
  write_safetensors(path, tensors, meta);
}

}  // namespace hl::test
