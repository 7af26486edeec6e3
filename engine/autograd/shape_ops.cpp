#include "engine/autograd/shape_ops.h"

#include <cstring>
#include <string>

#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/cpu/act_grad.h"
#include "kernels/cpu/concat.h"
#include "kernels/cuda/act_grad.h"
#include "kernels/cuda/concat.h"

namespace hl::ag {

namespace {

// f32 zeros on `device` (on a GPU a memset, not a copy from the host).
Tensor zeros_on(const Shape& shape, Device device) {
  Tensor t = Tensor::empty(shape, DType::F32, device);
  HL_DISPATCH(t, zero_fill, t.raw(), t.nbytes());
  return t;
}

// Rows of f32 slabs from src to dst, on dst's device (kernels/cpu/concat.h).
void copy_slab_f32(const Tensor& src, int64_t src_n, int64_t src_start, Tensor& dst, int64_t dst_n, int64_t dst_start,
                   int64_t outer, int64_t len, int64_t inner) {
  HL_DISPATCH(dst, copy_slab, src.raw(), src_n, src_start, dst.raw(), dst_n, dst_start, outer, len, inner,
              sizeof(float));
}

}  // namespace

DimSplit split_at(const Shape& shape, int dim, const char* op) {
  const int d = dim < 0 ? dim + shape.ndim() : dim;
  if (d < 0 || d >= shape.ndim())
    throw Error(std::string(op) + ": dimension " + std::to_string(dim) + " out of range for shape " + shape.str());
  DimSplit s{d, 1, shape[d], 1};
  for (int i = 0; i < d; ++i) s.outer *= shape[i];
  for (int i = d + 1; i < shape.ndim(); ++i) s.inner *= shape[i];
  return s;
}

Variable reshape(const Variable& x, const std::vector<int64_t>& dims) {
  dispatch::require_f32_same_device({&x.value()}, "reshape");
  const std::vector<int64_t> in_dims = x.shape().vec();
  return record("reshape", x.value().reshape(dims), {x},
                [in_dims](const Tensor& dy, const std::vector<bool>&) -> std::vector<Tensor> {
                  return {dy.reshape(in_dims)};
                });
}

Variable concat(const std::vector<Variable>& xs, int dim) {
  if (xs.empty()) throw Error("concat: no inputs");
  const Shape first = xs[0].shape();
  const DimSplit s0 = split_at(first, dim, "concat");
  std::vector<int64_t> lengths;
  int64_t total = 0;
  for (const Variable& x : xs) {
    dispatch::require_f32_same_device({&xs[0].value(), &x.value()}, "concat");
    Shape probe = x.shape();
    if (probe.ndim() != first.ndim()) throw Error("concat: " + x.value().str() + " and " + xs[0].value().str());
    probe[s0.dim] = first[s0.dim];
    if (!(probe == first))
      throw Error("concat: shapes differ outside dimension " + std::to_string(dim) + ": " + x.value().str() + " and " +
                  xs[0].value().str());
    lengths.push_back(x.shape()[s0.dim]);
    total += lengths.back();
  }
  Shape out_shape = first;
  out_shape[s0.dim] = total;
  Tensor y = Tensor::empty(out_shape, DType::F32, xs[0].value().device());
  int64_t at = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    copy_slab_f32(xs[i].value(), lengths[i], 0, y, total, at, s0.outer, lengths[i], s0.inner);
    at += lengths[i];
  }
  std::vector<Shape> shapes;
  for (const Variable& x : xs) shapes.push_back(x.shape());
  return record("concat", y, xs,
                [shapes, lengths, total, s0](const Tensor& dy, const std::vector<bool>& needs) -> std::vector<Tensor> {
                  std::vector<Tensor> dxs(shapes.size());
                  int64_t at = 0;
                  for (size_t i = 0; i < shapes.size(); ++i) {
                    if (needs[i]) {
                      dxs[i] = Tensor::empty(shapes[i], DType::F32, dy.device());
                      copy_slab_f32(dy, total, at, dxs[i], lengths[i], 0, s0.outer, lengths[i], s0.inner);
                    }
                    at += lengths[i];
                  }
                  return dxs;
                });
}

Variable narrow(const Variable& x, int dim, int64_t start, int64_t length) {
  dispatch::require_f32_same_device({&x.value()}, "narrow");
  const DimSplit s = split_at(x.shape(), dim, "narrow");
  if (start < 0 || length < 0 || start + length > s.n)
    throw Error("narrow: [" + std::to_string(start) + ", " + std::to_string(start + length) + ") outside dimension " +
                std::to_string(dim) + " of " + x.value().str());
  Shape out_shape = x.shape();
  out_shape[s.dim] = length;
  Tensor y = Tensor::empty(out_shape, DType::F32, x.value().device());
  copy_slab_f32(x.value(), s.n, start, y, length, 0, s.outer, length, s.inner);
  const Shape in_shape = x.shape();
  return record("narrow", y, {x}, [in_shape, s, start, length](const Tensor& dy, const std::vector<bool>&) {
    Tensor dx = zeros_on(in_shape, dy.device());
    copy_slab_f32(dy, length, 0, dx, s.n, start, s.outer, length, s.inner);
    return std::vector<Tensor>{dx};
  });
}

namespace {

Variable reduce(const Variable& x, int dim, bool is_mean, const char* name) {
  dispatch::require_f32_same_device({&x.value()}, name);
  const DimSplit s = split_at(x.shape(), dim, name);
  const Shape in_shape = x.shape();
  Tensor y = is_mean ? ops::mean(x.value(), s.dim) : ops::sum(x.value(), s.dim);
  const float alpha = is_mean ? 1.0f / static_cast<float>(s.n) : 1.0f;
  return record(name, y, {x}, [in_shape, s, alpha](const Tensor& dy, const std::vector<bool>&) {
    Tensor dx = Tensor::empty(in_shape, DType::F32, dy.device());
    HL_DISPATCH(dy, broadcast_middle, dy.data<float>(), dx.data<float>(), s.outer, s.n, s.inner, alpha);
    return std::vector<Tensor>{dx};
  });
}

}  // namespace

Variable sum(const Variable& x, int dim) { return reduce(x, dim, false, "sum"); }
Variable mean(const Variable& x, int dim) { return reduce(x, dim, true, "mean"); }

// Shape [n] reduced over its only dimension is a scalar of shape [].
Variable sum_all(const Variable& x) { return sum(reshape(x, {-1}), 0); }
Variable mean_all(const Variable& x) { return mean(reshape(x, {-1}), 0); }

}  // namespace hl::ag
