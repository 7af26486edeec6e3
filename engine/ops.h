// The op API: functions over Tensors that check shapes and types, allocate the result
// on the inputs' device and dispatch to the CPU or CUDA kernel. All ops here take and
// return f32 tensors (training and the reference paths run in f32).
#pragma once
#include <cstdint>

#include "engine/tensor.h"

namespace hl::ops {

// Elementwise; a and b must have the same shape and device.
Tensor add(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor scale(const Tensor& x, float alpha);
Tensor relu(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);

// Reductions along `dim` (negative counts from the end); the dimension is removed.
Tensor sum(const Tensor& x, int dim);
Tensor mean(const Tensor& x, int dim);
Tensor max(const Tensor& x, int dim);

// Swaps the last two dimensions: [..., r, c] -> [..., c, r] (any dtype, ndim >= 2).
Tensor transpose_last2(const Tensor& x);

// Matrix product of the last two dimensions, batched over the leading ones:
// a [..., m, k] (or [..., k, m] when trans_a), b [..., k, n] (or [..., n, k]);
// the batch dimensions of a and b must match, or b may be 2-D and is then shared.
// Result [..., m, n].
Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a = false, bool trans_b = false);

// Deterministic random tensors (Philox; same numbers on CPU and CUDA for the same
// seed and offset): uniform in (lo, hi], normal N(mean, std^2).
Tensor uniform(const Shape& shape, uint64_t seed, uint64_t offset, float lo, float hi, Device device = Device::cpu());
Tensor normal(const Shape& shape, uint64_t seed, uint64_t offset, float mean, float std, Device device = Device::cpu());

}  // namespace hl::ops
