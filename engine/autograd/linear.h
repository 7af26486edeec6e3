// Differentiable matrix products and dense layers.
#pragma once
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

}  // namespace hl::ag
