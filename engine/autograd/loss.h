// The highlight model's losses as differentiable scalars (shape []). Predictions and
// labels have the same shape (any: flattened); labels get no gradient.
// Formulas and the choice of population moments: kernels/cpu/loss.h.
#pragma once
#include "engine/autograd/variable.h"

namespace hl::ag {

Variable mse_loss(const Variable& pred, const Variable& label);
// 1 - Lin's concordance correlation coefficient (population moments, cov numerator).
Variable ccc_loss(const Variable& pred, const Variable& label);
// mean over pairs of max(0, margin - (score_hi - score_lo)), score_hi the clip that
// should rank higher.
Variable margin_ranking_loss(const Variable& score_hi, const Variable& score_lo, float margin = 1.0f);

}  // namespace hl::ag
