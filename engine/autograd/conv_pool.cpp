#include "engine/autograd/conv_pool.h"

#include "engine/dispatch.h"
#include "kernels/cpu/conv1d.h"
#include "kernels/cpu/pool.h"
#include "kernels/cuda/conv1d.h"
#include "kernels/cuda/pool.h"

namespace hl::ag {

namespace {

// Device scratch for the CUDA im2col columns (an undefined tensor when not needed).
Tensor scratch_floats(int64_t n, Device device) { return Tensor::empty(Shape{n}, DType::F32, device); }

}  // namespace

Variable conv1d_same(const Variable& x, const Variable& w, const Variable& b) {
  dispatch::require_f32_same_device({&x.value(), &w.value()}, "conv1d_same");
  if (x.ndim() != 3 || w.ndim() != 3 || w.size(1) != x.size(2) || w.size(0) < 1)
    throw Error("conv1d_same: input " + x.value().str() + " ([batch, time, c_in]) does not match weight " +
                w.value().str() + " ([k, c_in, c_out])");
  cpu::Conv1dShape s;
  s.batch = x.size(0), s.time = x.size(1), s.c_in = x.size(2), s.k = w.size(0), s.c_out = w.size(2);
  const bool has_bias = b.defined();
  if (has_bias) {
    dispatch::require_f32_same_device({&x.value(), &b.value()}, "conv1d_same");
    if (b.ndim() != 1 || b.size(0) != s.c_out)
      throw Error("conv1d_same: bias " + b.value().str() + " for weight " + w.value().str());
  }
  const Tensor xv = x.value(), wv = w.value();
  const Device dev = xv.device();
  Tensor y = Tensor::empty(Shape{s.batch, s.time, s.c_out}, DType::F32, dev);
  const float* pb = has_bias ? b.value().data<float>() : nullptr;
  dispatch::on_device(
      xv, "conv1d_same", [&] { cpu::conv1d_same_forward(s, xv.data<float>(), wv.data<float>(), pb, y.data<float>()); },
      [&](cudaStream_t stream) {
        Tensor cols = scratch_floats(cuda::conv1d_cols_size(s), dev);
        cuda::conv1d_same_forward(s, xv.data<float>(), wv.data<float>(), pb, y.data<float>(), cols.data<float>(),
                                  stream);
      });
  std::vector<Variable> inputs{x, w};
  if (has_bias) inputs.push_back(b);
  return record("conv1d_same", y, inputs, [xv, wv, s, has_bias](const Tensor& dy, const std::vector<bool>& needs) {
    const Device dev = xv.device();
    std::vector<Tensor> g(has_bias ? 3 : 2);
    if (needs[0]) g[0] = Tensor::empty(xv.shape(), DType::F32, dev);
    if (needs[1]) g[1] = Tensor::empty(wv.shape(), DType::F32, dev);
    if (has_bias && needs[2]) g[2] = Tensor::empty(Shape{s.c_out}, DType::F32, dev);
    auto ptr = [](Tensor& t) { return t.defined() ? t.data<float>() : nullptr; };
    float* db = has_bias ? ptr(g[2]) : nullptr;
    dispatch::on_device(
        xv, "conv1d_same",
        [&] {
          cpu::conv1d_same_backward(s, xv.data<float>(), wv.data<float>(), dy.data<float>(), ptr(g[0]), ptr(g[1]), db);
        },
        [&](cudaStream_t stream) {
          Tensor cols = needs[1] ? scratch_floats(cuda::conv1d_cols_size(s), dev) : Tensor();
          Tensor dcols = needs[0] ? scratch_floats(cuda::conv1d_cols_size(s), dev) : Tensor();
          cuda::conv1d_same_backward(s, xv.data<float>(), wv.data<float>(), dy.data<float>(), ptr(g[0]), ptr(g[1]), db,
                                     ptr(cols), ptr(dcols), stream);
        });
    return g;
  });
}

Variable maxpool1d_2(const Variable& x) {
  dispatch::require_f32_same_device({&x.value()}, "maxpool1d_2");
  if (x.ndim() != 3) throw Error("maxpool1d_2: expects [batch, time, channels], got " + x.value().str());
  const int64_t batch = x.size(0), time = x.size(1), channels = x.size(2);
  const Tensor xv = x.value();
  Tensor y = Tensor::empty(Shape{batch, time / 2, channels}, DType::F32, xv.device());
  HL_DISPATCH(xv, maxpool1d_2_forward, xv.data<float>(), y.data<float>(), batch, time, channels);
  return record("maxpool1d_2", y, {x}, [xv, batch, time, channels](const Tensor& dy, const std::vector<bool>&) {
    Tensor dx = Tensor::empty(xv.shape(), DType::F32, xv.device());
    HL_DISPATCH(xv, maxpool1d_2_backward, xv.data<float>(), dy.data<float>(), dx.data<float>(), batch, time, channels);
    return std::vector<Tensor>{dx};
  });
}

}  // namespace hl::ag
