// Differentiable elementwise ops. a and b have the same shape (no broadcasting: the
// model's only broadcast, the bias, lives inside linear and conv1d).
#pragma once
#include "engine/autograd/variable.h"

namespace hl::ag {

Variable add(const Variable& a, const Variable& b);
Variable mul(const Variable& a, const Variable& b);
Variable scale(const Variable& x, float alpha);  // alpha * x
Variable relu(const Variable& x);
Variable sigmoid(const Variable& x);
Variable tanh(const Variable& x);

}  // namespace hl::ag
