// ResNet50 inference, torchvision's model as the Places365 weights use it (specs/nets.md):
// the 2048-d global-average-pool embedding (the paper's per-frame feature) and the
// logits (365 classes for Places365; the count comes from the weights), on any CNN
// backend (nets/cnn_backend.h).
//
//   x [N, H, W, 3] f32, ImageNet-normalised (224 x 224 for the published weights)
//   conv1 7x7/2 pad 3 (BatchNorm, ReLU) -> maxpool 3/2 pad 1
//   layer1..layer4: 3, 4, 6, 3 bottlenecks of width 64, 128, 256, 512 (out = 4 x width):
//     y = relu(bn3(conv3 1x1(relu(bn2(conv2 3x3/s(relu(bn1(conv1 1x1(x)))))))) + shortcut)
//     shortcut = x, or bn(conv 1x1/s(x)) in each stage's first block ("v1.5": the
//     stride s sits on the 3x3 conv)
//   global average pool -> embedding [N, 2048] -> fc -> logits
// BatchNorm eps 1e-5; the residual add and ReLU are fused into conv3's epilogue.
//
// Weights: a file written from torchvision's state dict by convert_resnet50
// (weights/resnet50_map.h), BatchNorm folded or not.
// Tests: tests/nets/test_resnet50_golden.cpp (torchvision, random weights, both forms);
// embed: tests/embed/test_stream_allocations.cpp (PieceAllocations, Places365MfccStream).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "nets/cnn_runner.h"

namespace hl {

class ResNet50 {
 public:
  // Reads our safetensors weight file; throws hl::FormatError naming the file when it
  // is not one. The CPU backend unless another is given.
  static ResNet50 load(const std::string& safetensors_path);
  static ResNet50 load(const std::string& safetensors_path, std::unique_ptr<CnnBackend> backend);
  // From tensors with our names and layouts (ConvertResult::tensors); throws hl::Error.
  static ResNet50 from_tensors(const std::vector<std::pair<std::string, Tensor>>& tensors);
  static ResNet50 from_tensors(const std::vector<std::pair<std::string, Tensor>>& tensors,
                               std::unique_ptr<CnnBackend> backend);

  // x f32 [N, H, W, 3] on the CPU or the backend's device, ImageNet-normalised.
  CnnOutput forward(const Tensor& x);
  // The same pass with only the embedding, written to N x 2048 floats of host memory at
  // `embedding` (equal to forward(x).embedding): a stream's frame, which allocates
  // nothing on the CPU backend after its first pass (include/hl/highlights.h).
  void embed(const Tensor& x, float* embedding);

  int64_t classes() const { return fc_.out; }
  bool batchnorm_folded() const { return conv1_.folded; }
  const ActivationPool& activations() const { return runner_.activations(); }

 private:
  struct Bottleneck {
    NetConv conv1, conv2, conv3;
    NetConv downsample;  // prepared only in each stage's first block
  };
  explicit ResNet50(std::unique_ptr<CnnBackend> backend) : runner_(std::move(backend)) {}
  Tensor bottleneck(const Bottleneck& block, const Tensor& x);
  // Everything before the global average pool: [N, 7, 7, 2048] for a 224 x 224 input.
  Tensor trunk(const Tensor& x);

  CnnRunner runner_;
  NetConv conv1_;
  std::vector<Bottleneck> blocks_;  // layer1.0 .. layer4.2
  NetLinear fc_;
};

}  // namespace hl
