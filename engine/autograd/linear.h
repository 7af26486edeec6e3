// Differentiable matrix products and dense layers.
#pragma once
#include <cstdint>
#include <functional>

#include "engine/autograd/variable.h"

namespace hl::ag {

// Batched product of the last two dimensions, as hl::ops::matmul: a [..., m, k]
// (or [..., k, m] when trans_a), b [..., k, n] (or [..., n, k]) or a 2-D b shared by the
// batch; result [..., m, n].
Variable matmul(const Variable& a, const Variable& b, bool trans_a = false, bool trans_b = false);

// Dense layer in Keras layout: x [..., in], w [in, out], b [out] (b may be an
// undefined Variable for no bias); y [..., out] = x w + b. A PyTorch nn.Linear's weight
// is w transposed.
Variable linear(const Variable& x, const Variable& w, const Variable& b);

// Writes rows [first, first + count) of a dense layer's input, f32 [count, in], to dst.
using RowSource = std::function<void(int64_t first, int64_t count, float* dst)>;

// A dense layer whose input x [rows, in] is never held whole in f32 but produced block by
// block (block_rows rows at a time) when it is needed: y [rows, out] = x w + b in the
// forward pass, and x again in the backward pass for dw = x^T dy. x gets no gradient.
// For an input that is large in f32 and cheap to produce: the dense encoders' batch, kept
// f16 as stored and standardised on the fly (nets/highlight_model.h; issue 18: 620 MB
// of f32 input held through the backward pass at batch 300). `x` is kept by the tape
// until the backward pass, so it must own (capture) what it reads.
// Results: y is the same as linear()'s on the whole x (each row's products do not depend
// on the other rows: tested bit for bit); dw is summed over the blocks in order, which
// differs from one product over all rows by rounding only (identical when rows <=
// block_rows). CPU only (x is produced in host memory); throws hl::Error for a CUDA w.
Variable linear_from_rows(const RowSource& x, int64_t rows, int64_t in, const Variable& w, const Variable& b,
                          int64_t block_rows = 4096);

}  // namespace hl::ag
