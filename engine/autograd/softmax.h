// Differentiable softmax along one dimension (negative counts from the end).
#pragma once
#include "engine/autograd/variable.h"

namespace hl::ag {

Variable softmax(const Variable& x, int dim);

}  // namespace hl::ag
