// What GoogLeNet and ResNet50 share around their layer graphs: a backend, the
// activation buffers, and the ops as functions that size and take their own outputs,
// so that a net's forward pass reads like its definition.
//
// Tests: tests/nets/test_googlenet_golden.cpp, test_resnet50_golden.cpp.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "engine/tensor.h"
#include "nets/activation_pool.h"
#include "nets/cnn_backend.h"

namespace hl {

// A conv layer's description (its parameter tensors dropped once prepared) and its
// parameters in the backend's form.
struct NetConv {
  ConvLayer spec;
  bool folded = true;  // spec.folded() before its tensors were dropped
  std::unique_ptr<PreparedLayer> prepared;
};

struct NetLinear {
  int64_t in = 0, out = 0;
  std::unique_ptr<PreparedLayer> prepared;
};

class CnnRunner {
 public:
  explicit CnnRunner(std::unique_ptr<CnnBackend> backend);

  CnnBackend& backend() { return *backend_; }
  const ActivationPool& activations() const { return *pool_; }
  NetConv prepare(ConvLayer layer);
  NetLinear prepare(const LinearLayer& layer);

  // Starts a pass: checks that x is an f32 [N, H, W, channels] batch with N >= 1, on
  // the CPU or on the backend's device (hl::Error naming `net` otherwise), and returns
  // it as an activation.
  Tensor begin(const Tensor& x, int64_t channels, const std::string& net);
  // conv(x) in a new activation; residual as CnnBackend::conv2d.
  Tensor conv(const NetConv& layer, const Tensor& x, const Tensor* residual = nullptr);
  // conv(x) into channels [channel_offset, channel_offset + c_out) of y.
  void conv_into(const NetConv& layer, const Tensor& x, Tensor& y, int64_t channel_offset);
  Tensor maxpool(const MaxPoolSpec& pool, const Tensor& x, const std::string& name);
  Tensor take(const Shape& shape) { return pool_->take(shape); }
  // Global average pool and the classifier, downloaded; ends the pass.
  CnnOutput finish(const Tensor& x, const NetLinear& fc);
  // The same pass's end (the same buffers, so either replays the other's plan), with only
  // the embedding copied out: N x C floats to host memory at `embedding`. Allocates
  // nothing on the CPU backend once the pass is planned.
  void finish_embedding(const Tensor& x, const NetLinear& fc, float* embedding);

 private:
  std::unique_ptr<CnnBackend> backend_;
  std::unique_ptr<ActivationPool> pool_;  // refers to *backend_; both stay put when the runner moves
};

}  // namespace hl
