// GoogLeNet (Inception v1) inference, torchvision's model with transform_input=True
// (specs/nets.md): the 1024-d global-average-pool embedding (the paper's per-frame
// feature) and the classifier's logits, on any CNN backend (nets/cnn_backend.h).
//
//   x [N, H, W, 3] f32, ImageNet-normalised ((pixel - mean) / std; 224 x 224 for the
//     published weights) -> transform_input: x * (std / 0.5) + (mean - 0.5) / 0.5 per
//     channel, as torchvision does, so the net sees (pixel - 0.5) / 0.5
//   conv1 7x7/2 -> maxpool 3/2 ceil -> conv2 1x1 -> conv3 3x3 -> maxpool 3/2 ceil
//   inception 3a, 3b -> maxpool 3/2 ceil -> 4a .. 4e -> maxpool 2/2 ceil -> 5a, 5b
//   global average pool -> embedding [N, 1024] -> (dropout: none at inference) fc -> logits
// Every conv is BasicConv2d (conv, BatchNorm eps 0.001, ReLU); the blocks' widths are
// weights/googlenet_map.h's table, each branch written straight into its channel slice.
//
// Weights: a file written from torchvision's state dict by convert_googlenet
// (weights/googlenet_map.h), BatchNorm folded or not.
// Tests: tests/nets/test_googlenet_golden.cpp (torchvision, random weights, both forms).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "nets/cnn_runner.h"

namespace hl {

class GoogLeNet {
 public:
  // Reads our safetensors weight file; throws hl::FormatError naming the file when it
  // is not one (another net's, a missing or misshapen tensor). The CPU backend unless
  // another is given.
  static GoogLeNet load(const std::string& safetensors_path);
  static GoogLeNet load(const std::string& safetensors_path, std::unique_ptr<CnnBackend> backend);
  // From tensors with our names and layouts (ConvertResult::tensors); throws hl::Error.
  static GoogLeNet from_tensors(const std::vector<std::pair<std::string, Tensor>>& tensors);
  static GoogLeNet from_tensors(const std::vector<std::pair<std::string, Tensor>>& tensors,
                                std::unique_ptr<CnnBackend> backend);

  // x f32 [N, H, W, 3] on the CPU or the backend's device, ImageNet-normalised.
  CnnOutput forward(const Tensor& x);
  // The same pass with only the embedding, written to N x 1024 floats of host memory at
  // `embedding` (equal to forward(x).embedding): a stream's frame, which allocates
  // nothing on the CPU backend after its first pass (include/hl/highlights.h).
  void embed(const Tensor& x, float* embedding);

  int64_t classes() const { return fc_.out; }
  bool batchnorm_folded() const { return conv1_.folded; }
  const ActivationPool& activations() const { return runner_.activations(); }

 private:
  struct Inception {
    int64_t out = 0;
    NetConv branch1, branch2_reduce, branch2, branch3_reduce, branch3, branch4;
  };
  explicit GoogLeNet(std::unique_ptr<CnnBackend> backend) : runner_(std::move(backend)) {}
  Tensor inception(const Inception& block, const Tensor& x);
  // Everything before the global average pool: [N, 7, 7, 1024] for a 224 x 224 input.
  Tensor trunk(const Tensor& x);

  CnnRunner runner_;
  NetConv conv1_, conv2_, conv3_;
  std::vector<Inception> blocks_;  // 3a, 3b, 4a .. 4e, 5a, 5b
  NetLinear fc_;
};

}  // namespace hl
