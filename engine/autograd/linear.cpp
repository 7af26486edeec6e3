#include "engine/autograd/linear.h"

#include <algorithm>

#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/cpu/gemm.h"
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

namespace {

// [first, first + count) of rows split into even blocks of at most block_rows: the same
// product kernel sees every block (kernels/cpu/gemm.cpp picks one by size).
struct RowBlocks {
  int64_t per = 0, count = 0;
  RowBlocks(int64_t rows, int64_t block_rows) {
    count = (rows + block_rows - 1) / block_rows;
    per = count == 0 ? 0 : (rows + count - 1) / count;
  }
};

}  // namespace

Variable linear_from_rows(const RowSource& x, int64_t rows, int64_t in, const Variable& w, const Variable& b,
                          int64_t block_rows) {
  require_cpu_f32(w.value(), "linear_from_rows");
  if (w.ndim() != 2 || w.size(0) != in || rows < 0 || block_rows < 1)
    throw Error("linear_from_rows: " + std::to_string(rows) + " rows of " + std::to_string(in) +
                " inputs do not match weight " + w.value().str() + " ([in, out]), or block of " +
                std::to_string(block_rows) + " rows");
  const int64_t out = w.size(1);
  const bool has_bias = b.defined();
  if (has_bias) {
    require_cpu_f32(b.value(), "linear_from_rows");
    if (b.ndim() != 1 || b.size(0) != out)
      throw Error("linear_from_rows: bias " + b.value().str() + " for weight " + w.value().str());
  }
  const Tensor wv = w.value();
  const RowBlocks blocks(rows, block_rows);
  Tensor y = Tensor::empty(Shape{rows, out}, DType::F32, Device::cpu());
  {
    // One block of x at a time: [per, in] f32, the only copy of x in f32 there ever is.
    Tensor block = Tensor::empty(Shape{std::max<int64_t>(blocks.per, 1), in}, DType::F32, Device::cpu());
    const float* pb = has_bias ? b.value().data<float>() : nullptr;
    for (int64_t first = 0; first < rows; first += blocks.per) {
      const int64_t n = std::min(blocks.per, rows - first);
      x(first, n, block.data<float>());
      cpu::linear_forward(block.data<float>(), wv.data<float>(), pb, y.data<float>() + first * out, n, in, out);
    }
  }
  std::vector<Variable> inputs{w};
  if (has_bias) inputs.push_back(b);
  auto backward = [x, wv, rows, in, out, has_bias, blocks](const Tensor& dy, const std::vector<bool>& needs) {
    std::vector<Tensor> g(has_bias ? 2 : 1);
    const float* pdy = dy.data<float>();
    if (needs[0]) {
      g[0] = rows == 0 ? Tensor::zeros(wv.shape(), DType::F32) : Tensor::empty(wv.shape(), DType::F32, Device::cpu());
      Tensor block = Tensor::empty(Shape{std::max<int64_t>(blocks.per, 1), in}, DType::F32, Device::cpu());
      for (int64_t first = 0; first < rows; first += blocks.per) {
        const int64_t n = std::min(blocks.per, rows - first);
        x(first, n, block.data<float>());
        GemmShape s;  // dw [in, out] (+)= x_block^T [in, n] dy_block [n, out]: linear_backward's product
        s.m = in;
        s.n = out;
        s.k = n;
        s.trans_a = true;
        s.beta = first == 0 ? 0.0f : 1.0f;
        cpu::gemm_f32(s, block.data<float>(), pdy + first * out, g[0].data<float>());
      }
    }
    if (has_bias && needs[1]) {
      g[1] = Tensor::empty(Shape{out}, DType::F32, Device::cpu());
      cpu::linear_backward<float>(nullptr, wv.data<float>(), pdy, nullptr, nullptr, g[1].data<float>(), rows, in, out);
    }
    return g;
  };
  return record("linear_from_rows", y, inputs, backward);
}

}  // namespace hl::ag
