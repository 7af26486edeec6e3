#include "engine/autograd/conv2d.h"

#include <vector>

#include "engine/dispatch.h"
#include "kernels/cpu/conv2d.h"
#include "kernels/cuda/conv2d.h"

namespace hl::ag {

namespace {

// Device scratch for the CUDA im2col columns (an undefined tensor when none is needed:
// im2col is the identity, or the buffer is not wanted).
Tensor cols_scratch(const cpu::Conv2dShape& s, bool wanted, Device device) {
  const int64_t n = cuda::conv2d_cols_size(s);
  return wanted && n > 0 ? Tensor::empty(Shape{n}, DType::F32, device) : Tensor();
}

}  // namespace

Variable conv2d(const Variable& x, const Variable& w, const Variable& b, const Conv2dOptions& o) {
  dispatch::require_f32_same_device({&x.value(), &w.value()}, "conv2d");
  if (x.ndim() != 4 || w.ndim() != 4 || w.size(2) != x.size(3))
    throw Error("conv2d: input " + x.value().str() + " ([batch, height, width, c_in]) does not match weight " +
                w.value().str() + " ([kh, kw, c_in, c_out])");
  cpu::Conv2dShape s;
  s.batch = x.size(0), s.height = x.size(1), s.width = x.size(2), s.c_in = x.size(3);
  s.kh = w.size(0), s.kw = w.size(1), s.c_out = w.size(3);
  s.stride_h = o.stride_h, s.stride_w = o.stride_w;
  s.pad_top = o.pad_top, s.pad_bottom = o.pad_bottom, s.pad_left = o.pad_left, s.pad_right = o.pad_right;
  s.validate("conv2d");
  const bool has_bias = b.defined();
  if (has_bias) {
    dispatch::require_f32_same_device({&x.value(), &b.value()}, "conv2d");
    if (b.ndim() != 1 || b.size(0) != s.c_out)
      throw Error("conv2d: bias " + b.value().str() + " for weight " + w.value().str());
  }
  const Tensor xv = x.value(), wv = w.value();
  const Device dev = xv.device();
  Tensor y = Tensor::empty(Shape{s.batch, s.out_height(), s.out_width(), s.c_out}, DType::F32, dev);
  const float* pb = has_bias ? b.value().data<float>() : nullptr;
  dispatch::on_device(
      xv, "conv2d", [&] { cpu::conv2d_forward(s, xv.data<float>(), wv.data<float>(), pb, y.data<float>()); },
      [&](cudaStream_t stream) {
        Tensor cols = cols_scratch(s, true, dev);
        cuda::conv2d_forward(s, xv.data<float>(), wv.data<float>(), pb, y.data<float>(),
                             cols.defined() ? cols.data<float>() : nullptr, stream);
      });
  std::vector<Variable> inputs{x, w};
  if (has_bias) inputs.push_back(b);
  return record("conv2d", y, inputs, [xv, wv, s, has_bias](const Tensor& dy, const std::vector<bool>& needs) {
    const Device dev = xv.device();
    std::vector<Tensor> g(has_bias ? 3 : 2);
    if (needs[0]) g[0] = Tensor::empty(xv.shape(), DType::F32, dev);
    if (needs[1]) g[1] = Tensor::empty(wv.shape(), DType::F32, dev);
    if (has_bias && needs[2]) g[2] = Tensor::empty(Shape{s.c_out}, DType::F32, dev);
    auto ptr = [](Tensor& t) { return t.defined() ? t.data<float>() : nullptr; };
    float* db = has_bias ? ptr(g[2]) : nullptr;
    dispatch::on_device(
        xv, "conv2d",
        [&] {
          cpu::conv2d_backward(s, xv.data<float>(), wv.data<float>(), dy.data<float>(), ptr(g[0]), ptr(g[1]), db);
        },
        [&](cudaStream_t stream) {
          Tensor cols = cols_scratch(s, needs[1], dev), dcols = cols_scratch(s, needs[0], dev);
          cuda::conv2d_backward(s, xv.data<float>(), wv.data<float>(), dy.data<float>(), ptr(g[0]), ptr(g[1]), db,
                                ptr(cols), ptr(dcols), stream);
        });
    return g;
  });
}

}  // namespace hl::ag
