// Differentiable layer normalisation over the last dimension (kernels/cpu/norm.h):
// x [..., n], gain [n], bias [n].
#pragma once
#include "engine/autograd/variable.h"
#include "kernels/cpu/norm.h"

namespace hl::ag {

// PyTorch nn.LayerNorm: eps inside the square root of the population variance.
Variable layer_norm(const Variable& x, const Variable& gain, const Variable& bias, float eps = 1e-5f);
// VASNet's LayerNorm: eps added to the unbiased standard deviation.
Variable layer_norm_vasnet(const Variable& x, const Variable& gain, const Variable& bias, float eps = 1e-6f);

}  // namespace hl::ag
