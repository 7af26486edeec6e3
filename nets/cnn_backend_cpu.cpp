// The CPU backend of the inference CNNs (nets/cnn_backend.h): f32 activations in host
// memory, convolutions by kernels/cpu/conv2d_fused (im2col blocks + OpenBLAS sgemm with
// the BatchNorm, residual and ReLU fused after each block), pooling by kernels/cpu/pool2d.
// The first backend made in a process logs a warning when OpenBLAS runs kernels older than
// the CPU (kernels/cpu/blas_check.h). An unfolded BatchNorm becomes a per-channel scale and shift computed as PyTorch's CPU
// batch_norm does in eval mode: a = gamma / sqrt(var + eps), b = beta - mean * a, in f32.
//
// Tests: tests/nets/test_googlenet_golden.cpp and test_resnet50_golden.cpp (whole nets
// against torchvision, folded and unfolded).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "engine/error.h"
#include "engine/log.h"
#include "kernels/cpu/blas_check.h"
#include "kernels/cpu/conv2d_fused.h"
#include "kernels/cpu/linear.h"
#include "kernels/cpu/pool2d.h"
#include "nets/cnn_backend.h"

namespace hl {

namespace {

// spec keeps the weight (and, folded, the bias) as loaded.
struct CpuConv : PreparedConv {
  std::vector<float> scale;   // [c_out], empty when folded
  std::vector<float> shift;   // [c_out], empty when folded
};

struct CpuLinear : PreparedLinear {
  LinearLayer layer;
};

class CpuCnnBackend final : public CnnBackend {
 public:
  Device device() const override { return Device::cpu(); }
  DType activation_dtype() const override { return DType::F32; }
  std::string name() const override { return "cpu f32"; }

  std::shared_ptr<Storage> allocate(size_t nbytes) override { return Storage::host(nbytes); }

  std::unique_ptr<PreparedLayer> prepare(const ConvLayer& layer) override {
    auto p = std::make_unique<CpuConv>();
    p->spec = layer;
    if (!layer.folded()) {
      const float *g = layer.bn_weight.data<float>(), *b = layer.bn_bias.data<float>();
      const float *m = layer.bn_mean.data<float>(), *v = layer.bn_var.data<float>();
      p->scale.resize(static_cast<size_t>(layer.c_out));
      p->shift.resize(static_cast<size_t>(layer.c_out));
      for (int64_t o = 0; o < layer.c_out; ++o) {
        p->scale[o] = g[o] * (1.0f / std::sqrt(v[o] + layer.bn_eps));
        p->shift[o] = b[o] - m[o] * p->scale[o];
      }
    }
    return p;
  }

  std::unique_ptr<PreparedLayer> prepare(const LinearLayer& layer) override {
    auto p = std::make_unique<CpuLinear>();
    p->name = layer.name;
    p->in = layer.weight.size(0), p->out = layer.weight.size(1);
    p->layer = layer;
    return p;
  }

 private:
  void run_upload(const Tensor& x, Tensor& y) override { y.copy_from(x); }

  void run_channel_affine(const Tensor& x, Tensor& y, const std::vector<float>& scale,
                          const std::vector<float>& shift) override {
    const int64_t C = x.size(-1);
    const float* in = x.data<float>();
    float* out = y.data<float>();
    for (int64_t i = 0; i < x.numel(); ++i) out[i] = in[i] * scale[i % C] + shift[i % C];
  }

  void run_conv2d(const PreparedConv& prepared, const Tensor& x, Tensor& y, int64_t channel_offset,
                  const Tensor* residual) override {
    const auto& p = static_cast<const CpuConv&>(prepared);
    const ConvLayer& l = p.spec;
    cpu::Conv2dShape s;
    s.batch = x.size(0), s.height = x.size(1), s.width = x.size(2), s.c_in = l.c_in, s.c_out = l.c_out;
    s.kh = s.kw = l.kernel;
    s.stride_h = s.stride_w = l.stride;
    s.pad_top = s.pad_bottom = s.pad_left = s.pad_right = l.pad;
    cpu::ConvEpilogue e;
    e.scale = p.scale.empty() ? nullptr : p.scale.data();
    e.shift = p.scale.empty() ? l.bias.data<float>() : p.shift.data();
    e.residual = residual ? residual->data<float>() : nullptr;
    e.relu = l.relu;
    workspace_.resize(std::max(workspace_.size(), cpu::conv2d_fused_workspace(s)));
    cpu::conv2d_fused_f32(s, x.data<float>(), l.weight.data<float>(), y.data<float>() + channel_offset, y.size(3), e,
                          workspace_.data());
  }

  void run_maxpool2d(const cpu::Pool2dShape& s, const Tensor& x, Tensor& y) override {
    cpu::maxpool2d_f32(s, x.data<float>(), y.data<float>());
  }

  void run_global_avgpool(const Tensor& x, Tensor& y) override {
    cpu::global_avgpool_f32(x.data<float>(), y.data<float>(), x.size(0), x.size(1) * x.size(2), x.size(3));
  }

  void run_linear(const PreparedLinear& prepared, const Tensor& x, Tensor& y) override {
    const LinearLayer& l = static_cast<const CpuLinear&>(prepared).layer;
    cpu::linear_forward(x.data<float>(), l.weight.data<float>(), l.bias.data<float>(), y.data<float>(), x.size(0),
                        l.weight.size(0), l.weight.size(1));
  }

  Tensor run_download(const Tensor& x) override { return x.clone(); }
  void run_download_into(const Tensor& x, float* host) override {
    std::memcpy(host, x.data<float>(), static_cast<size_t>(x.numel()) * sizeof(float));
  }

  std::vector<float> workspace_;  // im2col blocks, grown to the largest layer's need
};

}  // namespace

std::unique_ptr<CnnBackend> make_cpu_cnn_backend() {
  // Once per process: the nets' time is nearly all sgemm.
  static const bool warned = [] {
    const std::string warning = cpu::blas_core_warning();
    if (!warning.empty()) {
      HL_LOG(Warn) << warning;
    }
    return true;
  }();
  (void)warned;
  return std::make_unique<CpuCnnBackend>();
}

}  // namespace hl
