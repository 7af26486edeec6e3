#include "kernels/cpu/optim.h"

#include <cmath>

namespace hl::cpu {

void adam_step_f32(const AdamHyper& h, int64_t step, float* param, const float* grad, float* m, float* v, int64_t n) {
  // Bias corrections in double, then the per-element update in f32 like PyTorch's.
  const double t = static_cast<double>(step);
  const float bias1 = static_cast<float>(1.0 - std::pow(static_cast<double>(h.beta1), t));
  const float bias2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(static_cast<double>(h.beta2), t)));
  const float step_size = h.lr / bias1;
  for (int64_t i = 0; i < n; ++i) {
    const float g = grad[i] + h.weight_decay * param[i];
    m[i] = h.beta1 * m[i] + (1.0f - h.beta1) * g;
    v[i] = h.beta2 * v[i] + (1.0f - h.beta2) * g * g;
    const float denom = std::sqrt(v[i]) / bias2_sqrt + h.eps;
    param[i] -= step_size * m[i] / denom;
  }
}

}  // namespace hl::cpu
