// The CUDA backend of the inference CNNs (nets/cnn_backend_cuda.h): NHWC activations on
// one GPU, in f32 (exact) or f16 (fast), every op queued on one stream the backend owns.
//
// Layers are prepared once on the host: the weight [k, k, c_in, c_out] (HWIO) becomes
// cuDNN's [c_out, k, k, c_in] (KRSC) in the activation type, and an unfolded BatchNorm is
// folded into it, w'[o] = w[o] * a[o] and bias = b, with a = gamma / sqrt(var + eps) and
// b = beta - mean * a computed in f32 exactly as the CPU backend computes its scale and
// shift. So every conv is conv(x, w') + bias: the CPU computes conv(x, w) * a + b, which
// differs only by the rounding of the product order (~1e-7 relative). Convolutions run
// through kernels/cuda/cudnn_conv.h (bias, residual and ReLU fused where cuDNN can),
// pooling, transform_input and the epilogues through kernels/cuda/cnn_ops.h, the
// classifier through cuBLAS (f32: kernels/cuda/linear.h; f16: linear_forward_f16 in
// kernels/cuda/cnn_ops.h, f32 accumulation and our bias epilogue). The stream and its
// copies and events are the engine's (engine/cuda_stream.h): this file calls no CUDA
// runtime function itself. The argument checks are CnnBackend's front
// (nets/cnn_backend.cpp). Compiled in CUDA builds only; nets/no_cuda/ has the stand-in.
//
// Memory: buffers come from the engine's caching arena (no cudaMalloc once a shape has
// been planned). The arena files a block under the allocating thread's engine stream,
// not ours, so (1) a new block is ordered after that stream's pending work (an event),
// and (2) a block goes back only after our stream has drained, so the engine stream can
// never reuse memory our kernels still touch. Both happen only when buffers are
// allocated or dropped (planning a new shape, growing the scratch), never in a replayed
// forward pass.
//
// Tests: tests/cuda/test_cuda_cnn.cpp (each op and both networks against the CPU backend).
#include "nets/cnn_backend_cuda.h"

#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "engine/cuda_backend.h"
#include "engine/cuda_stream.h"
#include "engine/error.h"
#include "engine/log.h"
#include "kernels/common/half.h"
#include "kernels/cuda/cast.h"
#include "kernels/cuda/cnn_ops.h"
#include "kernels/cuda/cudnn_conv.h"
#include "kernels/cuda/handles.h"
#include "kernels/cuda/linear.h"

namespace hl {

namespace {

// spec: sizes, name and ReLU; no parameter tensors.
struct CudaConv : PreparedConv {
  Tensor weight;    // [c_out, k, k, c_in], activation type, BatchNorm folded in
  Tensor bias_f32;  // f32 [c_out], for our epilogue
  Tensor bias_act;  // [c_out] in the activation type, for cuDNN's fused call
  // One cuDNN plan per (batch, height, width, output row length, residual, output
  // 16-byte aligned): a layer keeps its choice for every shape it has seen.
  using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, bool, bool>;
  mutable std::map<Key, std::unique_ptr<cuda::CudnnConv>> plans;
};

struct CudaLinear : PreparedLinear {
  Tensor weight;    // [in, out], activation type
  Tensor bias_f32;  // f32 [out]
};

class CudaCnnBackend final : public CnnBackend {
 public:
  explicit CudaCnnBackend(const CudaCnnOptions& o)
      : device_(o.device), f16_(o.f16), stream_(std::make_shared<CudaStream>(o.device)) {}
  ~CudaCnnBackend() override {
    // The scratch buffers wait for the stream when they go; the stream goes after them.
    workspace_.reset();
    staging_.reset();
  }

  Device device() const override { return Device::cuda(device_); }
  DType activation_dtype() const override { return f16_ ? DType::F16 : DType::F32; }
  std::string name() const override { return "cuda:" + std::to_string(device_) + (f16_ ? " f16" : " f32"); }

  std::shared_ptr<Storage> allocate(size_t nbytes) override {
    cuda_backend::set_device(device_);
    void* p = cuda_backend::device_alloc(nbytes, device_);
    try {
      // The block may have been freed by work still pending on the engine's stream.
      stream_->wait_for_engine_stream();
    } catch (...) {
      cuda_backend::device_free(p, device_);
      throw;
    }
    const int device = device_;
    return std::make_shared<Storage>(p, nbytes, Device::cuda(device_), [owner = stream_, device](void* ptr) {
      owner->synchronize_noexcept();  // from a destructor: a failure here resurfaces at the next check
      cuda_backend::device_free(ptr, device);
    });
  }

  std::unique_ptr<PreparedLayer> prepare(const ConvLayer& layer) override {
    cuda_backend::set_device(device_);
    const int64_t k = layer.kernel, ci = layer.c_in, co = layer.c_out;
    std::vector<float> scale(static_cast<size_t>(co), 1.0f), shift(static_cast<size_t>(co));
    if (layer.folded()) {
      const float* b = layer.bias.data<float>();
      shift.assign(b, b + co);
    } else {
      // nets/cnn_backend_cpu.cpp's formula, term for term.
      const float *g = layer.bn_weight.data<float>(), *b = layer.bn_bias.data<float>();
      const float *m = layer.bn_mean.data<float>(), *v = layer.bn_var.data<float>();
      for (int64_t o = 0; o < co; ++o) {
        scale[o] = g[o] * (1.0f / std::sqrt(v[o] + layer.bn_eps));
        shift[o] = b[o] - m[o] * scale[o];
      }
    }
    const float* w = layer.weight.data<float>();  // [k, k, ci, co]
    std::vector<float> krsc(static_cast<size_t>(k * k * ci * co));
    for (int64_t pq = 0; pq < k * k; ++pq)
      for (int64_t i = 0; i < ci; ++i)
        for (int64_t o = 0; o < co; ++o) {
          const float v = w[(pq * ci + i) * co + o];
          krsc[(o * k * k + pq) * ci + i] = layer.folded() ? v : v * scale[o];
        }
    auto p = std::make_unique<CudaConv>();
    p->spec = layer;
    p->spec.weight = p->spec.bias = p->spec.bn_weight = p->spec.bn_bias = p->spec.bn_mean = p->spec.bn_var = Tensor();
    p->weight = to_device(krsc, {co, k, k, ci}, activation_dtype());
    p->bias_f32 = to_device(shift, {co}, DType::F32);
    p->bias_act = f16_ ? to_device(shift, {co}, DType::F16) : p->bias_f32;
    return p;
  }

  std::unique_ptr<PreparedLayer> prepare(const LinearLayer& layer) override {
    cuda_backend::set_device(device_);
    auto p = std::make_unique<CudaLinear>();
    p->name = layer.name;
    p->in = layer.weight.size(0), p->out = layer.weight.size(1);
    const float* w = layer.weight.data<float>();
    const float* b = layer.bias.data<float>();
    p->weight = to_device(std::vector<float>(w, w + p->in * p->out), {p->in, p->out}, activation_dtype());
    p->bias_f32 = to_device(std::vector<float>(b, b + p->out), {p->out}, DType::F32);
    return p;
  }

  void run_upload(const Tensor& x, Tensor& y) override {
    // On this device: a batch preprocessed here (nets/preprocess.h), complete when
    // preprocess_batch returned.
    const bool on_device = x.device() == device();
    cuda_backend::set_device(device_);
    if (!f16_) {
      stream_->copy_async(y.raw(), x.raw(), x.nbytes());
      return;
    }
    if (on_device) {
      cuda::f32_to_f16(x.data<float>(), y.data<uint16_t>(), x.numel(), stream());
      return;
    }
    float* staged = static_cast<float*>(grow(staging_, x.nbytes()));
    stream_->copy_async(staged, x.raw(), x.nbytes());
    cuda::f32_to_f16(staged, y.data<uint16_t>(), x.numel(), stream());
  }

  void run_channel_affine(const Tensor& x, Tensor& y, const std::vector<float>& scale,
                          const std::vector<float>& shift) override {
    const int64_t C = x.size(-1);
    if (C > cuda::ChannelAffine::kMaxChannels)
      throw Error("channel_affine: the CUDA backend takes at most " +
                  std::to_string(cuda::ChannelAffine::kMaxChannels) + " channels, got " + std::to_string(C));
    cuda::ChannelAffine a;
    a.channels = static_cast<int>(C);
    for (int64_t c = 0; c < C; ++c) a.scale[c] = scale[c], a.shift[c] = shift[c];
    cuda_backend::set_device(device_);
    cuda::channel_affine_nhwc(kernel_dtype(), x.raw(), y.raw(), x.numel() / C, a, stream());
  }

  void run_conv2d(const PreparedConv& prepared, const Tensor& x, Tensor& y, int64_t channel_offset,
                  const Tensor* residual) override {
    const auto& p = static_cast<const CudaConv&>(prepared);
    const ConvLayer& l = p.spec;
    cuda_backend::set_device(device_);
    void* y_slice = static_cast<char*>(y.raw()) + channel_offset * static_cast<int64_t>(dtype_size(y.dtype()));
    const bool aligned = reinterpret_cast<uintptr_t>(y_slice) % 16 == 0;
    auto& plan = p.plans[{x.size(0), x.size(1), x.size(2), y.size(3), residual != nullptr, aligned}];
    const bool fresh = !plan;
    if (fresh) {
      cuda::CudnnConvShape s;
      s.batch = x.size(0), s.height = x.size(1), s.width = x.size(2);
      s.c_in = l.c_in, s.c_out = l.c_out, s.kernel = l.kernel, s.stride = l.stride, s.pad = l.pad;
      s.y_channels = y.size(3), s.relu = l.relu, s.residual = residual != nullptr;
      plan = std::make_unique<cuda::CudnnConv>(
          f16_ ? cuda::ConvPrecision::F16 : cuda::ConvPrecision::F32Exact, s, l.name);
    }
    cuda::CudnnConvArgs a;
    a.x = x.raw(), a.w = p.weight.raw(), a.bias_f32 = p.bias_f32.data<float>(), a.bias_act = p.bias_act.raw();
    a.residual = residual ? residual->raw() : nullptr;
    a.y = y_slice;
    plan->run(cuda::cudnn_handle(stream()), a, [this](size_t bytes) { return grow(workspace_, bytes); }, stream());
    if (fresh) {
      HL_LOG(Debug) << name() << " " << l.name << " on " << x.shape().str() << ": " << plan->describe();
    }
  }

  void run_maxpool2d(const cpu::Pool2dShape& s, const Tensor& x, Tensor& y) override {
    cuda_backend::set_device(device_);
    cuda::maxpool2d_nhwc(kernel_dtype(), s, x.raw(), y.raw(), stream());
  }

  void run_global_avgpool(const Tensor& x, Tensor& y) override {
    cuda_backend::set_device(device_);
    cuda::global_avgpool_nhwc(kernel_dtype(), x.raw(), y.raw(), x.size(0), x.size(1) * x.size(2), x.size(3),
                              stream());
  }

  void run_linear(const PreparedLinear& prepared, const Tensor& x, Tensor& y) override {
    const auto& l = static_cast<const CudaLinear&>(prepared);
    cuda_backend::set_device(device_);
    const int64_t rows = x.size(0);
    if (f16_) {
      cuda::linear_forward_f16(x.raw(), l.weight.raw(), l.bias_f32.data<float>(), y.raw(), rows, l.in, l.out, stream());
    } else {
      cuda::linear_forward(x.data<float>(), l.weight.data<float>(), l.bias_f32.data<float>(), y.data<float>(), rows,
                           l.in, l.out, stream());
    }
  }

  Tensor run_download(const Tensor& x) override {
    cuda_backend::set_device(device_);
    Tensor host = Tensor::empty(x.shape(), DType::F32);
    const void* src = x.raw();
    if (f16_) {
      float* staged = static_cast<float*>(grow(staging_, host.nbytes()));
      cuda::f16_to_f32(x.data<uint16_t>(), staged, x.numel(), stream());
      src = staged;
    }
    stream_->copy_async(host.raw(), src, host.nbytes());
    stream_->synchronize();
    return host;
  }

 private:
  cudaStream_t stream() const { return stream_->get(); }
  cuda::CnnDType kernel_dtype() const { return f16_ ? cuda::CnnDType::F16 : cuda::CnnDType::F32; }

  // A device tensor of `shape` holding `values` converted to `dtype` (F32 or F16).
  Tensor to_device(const std::vector<float>& values, const Shape& shape, DType dtype) {
    Tensor t(allocate(static_cast<size_t>(shape.numel()) * dtype_size(dtype)), 0, shape, dtype);
    std::vector<uint16_t> halves;
    const void* src = values.data();
    if (dtype == DType::F16) {
      halves.reserve(values.size());
      for (float v : values) halves.push_back(f32_to_f16_bits(v));
      src = halves.data();
    }
    stream_->copy_async(t.raw(), src, t.nbytes());
    stream_->synchronize();  // the host vectors go when this returns
    return t;
  }

  // buffer's memory, grown (never shrunk) to at least `bytes`.
  void* grow(std::shared_ptr<Storage>& buffer, size_t bytes) {
    if (!buffer || buffer->nbytes() < bytes) {
      buffer.reset();  // waits for the stream, then back to the arena
      buffer = allocate(bytes);
    }
    return buffer->data();
  }

  int device_;
  bool f16_;
  std::shared_ptr<CudaStream> stream_;  // shared with every buffer handed out, so it outlives them
  std::shared_ptr<Storage> workspace_;  // cuDNN workspace and packed conv outputs
  std::shared_ptr<Storage> staging_;    // f32 copies of f16 activations on their way in or out
};

}  // namespace

std::unique_ptr<CnnBackend> make_cuda_cnn_backend(const CudaCnnOptions& options) {
  return std::make_unique<CudaCnnBackend>(options);
}

}  // namespace hl
