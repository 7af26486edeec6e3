// Dispatch from Tensors to kernels. Each op checks its inputs, allocates the output on
// the same device, and calls hl::cpu::X or hl::cuda::X with raw pointers.
#include "engine/ops.h"

#include <string>

#include "engine/dispatch.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/random.h"
#include "kernels/cpu/reduce.h"
#include "kernels/cpu/transpose.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/random.h"
#include "kernels/cuda/reduce.h"
#include "kernels/cuda/transpose.h"

namespace hl::ops {

namespace {

using dispatch::require_f32;
using dispatch::require_same_device;

Tensor binary(const Tensor& a, const Tensor& b, const char* op, bool is_add) {
  require_f32(a, op);
  require_f32(b, op);
  require_same_device(a, b, op);
  check_same_shape(a, b, op);
  Tensor y = Tensor::empty(a.shape(), DType::F32, a.device());
  if (is_add)
    HL_DISPATCH(a, add_f32, a.data<float>(), b.data<float>(), y.data<float>(), a.numel());
  else
    HL_DISPATCH(a, mul_f32, a.data<float>(), b.data<float>(), y.data<float>(), a.numel());
  return y;
}

enum class Unary { Relu, Sigmoid, Tanh };

Tensor unary(const Tensor& x, Unary kind, const char* op) {
  require_f32(x, op);
  Tensor y = Tensor::empty(x.shape(), DType::F32, x.device());
  const float* in = x.data<float>();
  float* out = y.data<float>();
  switch (kind) {
    case Unary::Relu: HL_DISPATCH(x, relu_f32, in, out, x.numel()); break;
    case Unary::Sigmoid: HL_DISPATCH(x, sigmoid_f32, in, out, x.numel()); break;
    case Unary::Tanh: HL_DISPATCH(x, tanh_f32, in, out, x.numel()); break;
  }
  return y;
}

enum class Reduce { Sum, Mean, Max };

Tensor reduce(const Tensor& x, int dim, Reduce kind, const char* op) {
  require_f32(x, op);
  const int d = dim < 0 ? dim + x.ndim() : dim;
  if (d < 0 || d >= x.ndim()) throw Error(std::string(op) + ": dimension " + std::to_string(dim) + " out of range for " + x.str());
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < d; ++i) outer *= x.shape()[i];
  for (int i = d + 1; i < x.ndim(); ++i) inner *= x.shape()[i];
  const int64_t n = x.shape()[d];
  if (kind == Reduce::Max && n == 0) throw Error(std::string(op) + ": max over an empty dimension of " + x.str());
  std::vector<int64_t> out_dims;
  for (int i = 0; i < x.ndim(); ++i)
    if (i != d) out_dims.push_back(x.shape()[i]);
  Tensor y = Tensor::empty(Shape(out_dims), DType::F32, x.device());
  const float* in = x.data<float>();
  float* out = y.data<float>();
  switch (kind) {
    case Reduce::Sum: HL_DISPATCH(x, sum_dim_f32, in, out, outer, n, inner); break;
    case Reduce::Mean: HL_DISPATCH(x, mean_dim_f32, in, out, outer, n, inner); break;
    case Reduce::Max: HL_DISPATCH(x, max_dim_f32, in, out, outer, n, inner); break;
  }
  return y;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return binary(a, b, "add", true); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary(a, b, "mul", false); }

Tensor scale(const Tensor& x, float alpha) {
  require_f32(x, "scale");
  Tensor y = Tensor::empty(x.shape(), DType::F32, x.device());
  HL_DISPATCH(x, scale_f32, x.data<float>(), alpha, y.data<float>(), x.numel());
  return y;
}

Tensor relu(const Tensor& x) { return unary(x, Unary::Relu, "relu"); }
Tensor sigmoid(const Tensor& x) { return unary(x, Unary::Sigmoid, "sigmoid"); }
Tensor tanh(const Tensor& x) { return unary(x, Unary::Tanh, "tanh"); }

Tensor sum(const Tensor& x, int dim) { return reduce(x, dim, Reduce::Sum, "sum"); }
Tensor mean(const Tensor& x, int dim) { return reduce(x, dim, Reduce::Mean, "mean"); }
Tensor max(const Tensor& x, int dim) { return reduce(x, dim, Reduce::Max, "max"); }

Tensor transpose_last2(const Tensor& x) {
  if (!x.defined() || x.ndim() < 2) throw Error("transpose_last2: needs at least 2 dimensions, got " + x.str());
  std::vector<int64_t> dims = x.shape().vec();
  const int64_t rows = dims[dims.size() - 2], cols = dims.back();
  std::swap(dims[dims.size() - 2], dims.back());
  Tensor y = Tensor::empty(Shape(dims), x.dtype(), x.device());
  const int64_t batch = (rows * cols) != 0 ? x.numel() / (rows * cols) : 0;
  HL_DISPATCH(x, transpose, x.raw(), y.raw(), batch, rows, cols, dtype_size(x.dtype()));
  return y;
}

Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b) {
  require_f32(a, "matmul");
  require_f32(b, "matmul");
  require_same_device(a, b, "matmul");
  if (a.ndim() < 2 || b.ndim() < 2) throw Error("matmul: needs matrices, got " + a.str() + " and " + b.str());
  const int64_t ar = a.size(-2), ac = a.size(-1), br = b.size(-2), bc = b.size(-1);
  GemmShape s;
  s.m = trans_a ? ac : ar;
  s.k = trans_a ? ar : ac;
  s.n = trans_b ? br : bc;
  const int64_t kb = trans_b ? bc : br;
  if (kb != s.k)
    throw Error("matmul: inner dimensions differ: " + a.str() + (trans_a ? "^T" : "") + " x " + b.str() +
                (trans_b ? "^T" : ""));
  const std::vector<int64_t> a_dims = a.shape().vec(), b_dims = b.shape().vec();
  std::vector<int64_t> out_dims(a_dims.begin(), a_dims.end() - 2);
  s.batch = 1;
  for (int64_t d : out_dims) s.batch *= d;
  if (b.ndim() == 2) {
    s.stride_b = 0;  // one matrix shared by every batch entry
  } else {
    std::vector<int64_t> b_batch(b_dims.begin(), b_dims.end() - 2);
    if (b_batch != out_dims) throw Error("matmul: batch dimensions differ: " + a.str() + " and " + b.str());
    s.stride_b = br * bc;
  }
  s.stride_a = ar * ac;
  s.stride_c = s.m * s.n;
  s.trans_a = trans_a;
  s.trans_b = trans_b;
  out_dims.push_back(s.m);
  out_dims.push_back(s.n);
  // beta = 0: BLAS and cuBLAS overwrite C without reading it, so C needs no zeroing.
  Tensor c = Tensor::empty(Shape(out_dims), DType::F32, a.device());
  if (s.batch * s.m * s.n == 0) return c;
  HL_DISPATCH(a, gemm_f32, s, a.data<float>(), b.data<float>(), c.data<float>());
  return c;
}

Tensor uniform(const Shape& shape, uint64_t seed, uint64_t offset, float lo, float hi, Device device) {
  Tensor y = Tensor::empty(shape, DType::F32, device);
  HL_DISPATCH(y, uniform_f32, seed, offset, y.data<float>(), y.numel(), lo, hi);
  return y;
}

Tensor normal(const Shape& shape, uint64_t seed, uint64_t offset, float mean, float std, Device device) {
  Tensor y = Tensor::empty(shape, DType::F32, device);
  HL_DISPATCH(y, normal_f32, seed, offset, y.data<float>(), y.numel(), mean, std);
  return y;
}

}  // namespace hl::ops
