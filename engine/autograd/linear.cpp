#include "engine/autograd/linear.h"

#include <algorithm>

#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/cpu/linear.h"
#include "kernels/cuda/linear.h"

namespace hl::ag {

Variable matmul(const Variable& a, const Variable& b, bool trans_a, bool trans_b) {
  dispatch::require_f32_same_device({&a.value(), &b.value()}, "matmul");
  const Tensor av = a.value(), bv = b.value();
  Tensor c = ops::matmul(av, bv, trans_a, trans_b);  // validates the shapes
  GemmShape s;
  const int64_t ar = av.size(-2), ac = av.size(-1), br = bv.size(-2), bc = bv.size(-1);
  s.m = trans_a ? ac : ar;
  s.k = trans_a ? ar : ac;
  s.n = trans_b ? br : bc;
  for (int i = 0; i < av.ndim() - 2; ++i) s.batch *= av.size(i);
  s.trans_a = trans_a;
  s.trans_b = trans_b;
  s.stride_a = ar * ac;
  s.stride_b = bv.ndim() == 2 ? 0 : br * bc;
  s.stride_c = s.m * s.n;
  return record("matmul", c, {a, b}, [av, bv, s](const Tensor& dc, const std::vector<bool>& needs) {
    Tensor da = needs[0] ? Tensor::empty(av.shape(), DType::F32, av.device()) : Tensor();
    Tensor db = needs[1] ? Tensor::empty(bv.shape(), DType::F32, av.device()) : Tensor();
    float* pa = needs[0] ? da.data<float>() : nullptr;
    float* pb = needs[1] ? db.data<float>() : nullptr;
    HL_DISPATCH(av, matmul_backward, s, av.data<float>(), bv.data<float>(), dc.data<float>(), pa, pb);
    return std::vector<Tensor>{da, db};
  });
}

Variable linear(const Variable& x, const Variable& w, const Variable& b) {
  dispatch::require_f32_same_device({&x.value(), &w.value()}, "linear");
  if (w.ndim() != 2 || x.ndim() < 1 || x.size(-1) != w.size(0))
    throw Error("linear: input " + x.value().str() + " does not match weight " + w.value().str() + " ([in, out])");
  const int64_t in = w.size(0), out = w.size(1), rows = x.value().numel() / std::max<int64_t>(in, 1);
  const bool has_bias = b.defined();
  if (has_bias) {
    dispatch::require_f32_same_device({&x.value(), &b.value()}, "linear");
    if (b.ndim() != 1 || b.size(0) != out)
      throw Error("linear: bias " + b.value().str() + " for weight " + w.value().str());
  }
  std::vector<int64_t> out_dims = x.shape().vec();
  out_dims.back() = out;
  const Tensor xv = x.value(), wv = w.value();
  Tensor y = Tensor::empty(Shape(out_dims), DType::F32, xv.device());
  const float* pb = has_bias ? b.value().data<float>() : nullptr;
  HL_DISPATCH(xv, linear_forward, xv.data<float>(), wv.data<float>(), pb, y.data<float>(), rows, in, out);
  std::vector<Variable> inputs{x, w};
  if (has_bias) inputs.push_back(b);
  auto backward = [xv, wv, rows, in, out, has_bias](const Tensor& dy, const std::vector<bool>& needs) {
    std::vector<Tensor> g(has_bias ? 3 : 2);
    const Device dev = xv.device();
    if (needs[0]) g[0] = Tensor::empty(xv.shape(), DType::F32, dev);
    if (needs[1]) g[1] = Tensor::empty(wv.shape(), DType::F32, dev);
    if (has_bias && needs[2]) g[2] = Tensor::empty(Shape{out}, DType::F32, dev);
    auto ptr = [](Tensor& t) { return t.defined() ? t.data<float>() : nullptr; };
    HL_DISPATCH(xv, linear_backward, xv.data<float>(), wv.data<float>(), dy.data<float>(), ptr(g[0]), ptr(g[1]),
                has_bias ? ptr(g[2]) : nullptr, rows, in, out);
    return g;
  };
  return record("linear", y, inputs, backward);
}

}  // namespace hl::ag
