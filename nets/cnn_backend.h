// The few operations the inference CNNs (GoogLeNet, ResNet50) are made of, as an
// interface that each device implements: the networks' forward passes are written once
// against it (nets/googlenet.cpp, nets/resnet50.cpp) and run on any backend.
//
// Activations are [N, H, W, C] (NHWC), contiguous, on the backend's device, in its
// activation dtype (the CPU backend: f32; a CUDA backend may keep f16). The net owns the
// buffers (nets/activation_pool.h) and hands each op its input and output tensors; an op
// never allocates them. A layer's parameters are turned into the backend's own form once,
// when the net is loaded (prepare()).
//
// Backends: nets/cnn_backend_cpu.cpp (f32, OpenBLAS; the specification),
// nets/cnn_backend_cuda.cpp (cuDNN, f32 or f16). The argument checks are theirs in common
// (CnnBackend's front, nets/cnn_backend.cpp).
// Tests: tests/nets/test_googlenet_golden.cpp and test_resnet50_golden.cpp (whole nets
// against torchvision), tests/nets/test_pool2d.cpp (the CPU kernels underneath).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor.h"
#include "kernels/cpu/pool2d.h"

namespace hl {

// What a CNN gives for a batch of images, on the CPU.
struct CnnOutput {
  Tensor embedding;  // f32 [N, 1024 (GoogLeNet) or 2048 (ResNet50)]: the global average pool
  Tensor logits;     // f32 [N, classes]
};

// A convolution (square kernel, symmetric zero padding, no bias of its own, as every
// conv of both nets) with what follows it: BatchNorm, in one of two forms, then an
// optional residual add and ReLU (see CnnBackend::conv2d).
struct ConvLayer {
  std::string name;  // e.g. "inception4a.branch2.1", for messages
  int64_t c_in = 0, c_out = 0;
  int64_t kernel = 1, stride = 1, pad = 0;
  Tensor weight;  // f32 [kernel, kernel, c_in, c_out] (HWIO)
  // Folded form: conv(x, weight) + bias, the BatchNorm already inside weight and bias.
  Tensor bias;  // f32 [c_out]; undefined in the unfolded form
  // Unfolded (exact) form: (conv(x, weight) - mean) / sqrt(var + eps) * gamma + beta.
  Tensor bn_weight, bn_bias, bn_mean, bn_var;  // f32 [c_out] each (gamma, beta, mean, var)
  float bn_eps = 0.0f;
  bool relu = true;

  bool folded() const { return bias.defined(); }
};

struct LinearLayer {
  std::string name;
  Tensor weight;  // f32 [in, out]
  Tensor bias;    // f32 [out]
};

// PyTorch's MaxPool2d (square window, dilation 1).
struct MaxPoolSpec {
  int64_t kernel = 1, stride = 1, pad = 0;
  bool ceil_mode = false;
};

// The output shapes of the ops, for planning buffers before anything runs. They throw
// hl::Error naming the layer when the input is too small or has the wrong channels.
Shape conv_output_shape(const ConvLayer& layer, const Shape& x);  // [N, H, W, c_in] -> [N, OH, OW, c_out]
Shape maxpool_output_shape(const MaxPoolSpec& pool, const Shape& x, const std::string& name);

// A layer's parameters in a backend's own form (uploaded, converted, BatchNorm turned
// into a scale and shift). Only the backend that made it can use it. Every backend's
// form keeps what the shared argument checks need:
class PreparedLayer {
 public:
  virtual ~PreparedLayer() = default;
};
struct PreparedConv : PreparedLayer {
  ConvLayer spec;  // sizes, name and ReLU (a backend may clear the parameter tensors)
};
struct PreparedLinear : PreparedLayer {
  std::string name;
  int64_t in = 0, out = 0;
};

// The public operations are one non-virtual front shared by every backend: it checks the
// arguments (device, activation dtype, shapes; hl::Error naming the layer), then calls
// the backend's run_* with arguments known to be valid.
class CnnBackend {
 public:
  virtual ~CnnBackend() = default;
  virtual Device device() const = 0;
  virtual DType activation_dtype() const = 0;
  virtual std::string name() const = 0;  // for logs: "cpu f32"

  // Raw memory for activation buffers on device().
  virtual std::shared_ptr<Storage> allocate(size_t nbytes) = 0;
  // A conv layer's PreparedConv, a linear layer's PreparedLinear.
  virtual std::unique_ptr<PreparedLayer> prepare(const ConvLayer& layer) = 0;
  virtual std::unique_ptr<PreparedLayer> prepare(const LinearLayer& layer) = 0;

  // y = x, from an f32 tensor on the CPU or on device() to an activation of the same
  // shape.
  void upload(const Tensor& x, Tensor& y);
  // y[n, h, w, c] = x[n, h, w, c] * scale[c] + shift[c] (y may be x): GoogLeNet's
  // transform_input.
  void channel_affine(const Tensor& x, Tensor& y, const std::vector<float>& scale, const std::vector<float>& shift);
  // The layer (a PreparedConv) applied to x [N, H, W, c_in], its c_out channels written
  // to channels [channel_offset, channel_offset + c_out) of y [N, OH, OW, C] (a branch
  // straight into its slice of a concatenation). With residual [N, OH, OW, c_out], the
  // residual is added after the BatchNorm and before the ReLU (a ResNet block's end).
  void conv2d(const PreparedLayer& layer, const Tensor& x, Tensor& y, int64_t channel_offset = 0,
              const Tensor* residual = nullptr);
  void maxpool2d(const MaxPoolSpec& pool, const Tensor& x, Tensor& y);
  // x [N, H, W, C] -> y [N, C], the mean over H and W.
  void global_avgpool(const Tensor& x, Tensor& y);
  // x [N, in] -> y [N, out] = x weight + bias (layer: a PreparedLinear).
  void linear(const PreparedLayer& layer, const Tensor& x, Tensor& y);
  // A new CPU f32 copy of an activation (the net's outputs), once the work is done.
  Tensor download(const Tensor& x);
  // The same values written to host memory of x.numel() floats at `host` (a stream's
  // per-frame embedding into its row). The CPU backend copies without allocating;
  // another backend may go through download().
  void download_into(const Tensor& x, float* host);

 private:
  // hl::Error unless t is an activation of this backend: activation_dtype() on device().
  // The message ("<layer> <what> must be ...") is built only when the check fails: the
  // checks run on every layer call of every frame, which must not allocate.
  void check_activation(const Tensor& t, const char* what, const std::string* layer = nullptr) const;

  virtual void run_upload(const Tensor& x, Tensor& y) = 0;
  virtual void run_channel_affine(const Tensor& x, Tensor& y, const std::vector<float>& scale,
                                  const std::vector<float>& shift) = 0;
  virtual void run_conv2d(const PreparedConv& layer, const Tensor& x, Tensor& y, int64_t channel_offset,
                          const Tensor* residual) = 0;
  virtual void run_maxpool2d(const cpu::Pool2dShape& s, const Tensor& x, Tensor& y) = 0;
  virtual void run_global_avgpool(const Tensor& x, Tensor& y) = 0;
  virtual void run_linear(const PreparedLinear& layer, const Tensor& x, Tensor& y) = 0;
  virtual Tensor run_download(const Tensor& x) = 0;
  virtual void run_download_into(const Tensor& x, float* host);
};

// The CPU backend (f32, OpenBLAS; the specification the others are compared with).
std::unique_ptr<CnnBackend> make_cpu_cnn_backend();

}  // namespace hl
