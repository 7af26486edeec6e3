#include "kernels/cpu/optim.h"

#include <cmath>

#include "kernels/cpu/parallel.h"
#include "kernels/cpu/vec_math.h"

namespace hl::cpu {

namespace {

// The per-element update over one range, built for AVX-512, AVX2 and the baseline. The
// loop vectorises only because this file is compiled with -fno-math-errno
// (kernels/CMakeLists.txt): with errno, GCC guards every sqrt with a branch to the
// library call, and the branch kept the loop scalar, ~4 ns an element (issue 18 item 12:
// Adam 0.81x PyTorch at 2 threads). Vector sqrt and division round exactly as the
// scalar ones do and nothing is contracted (-ffp-contract=off), so the bits are those of
// the scalar loop (tests/kernels/test_adam_kernel.cpp).
HL_SIMD_CLONES void adam_range(float beta1, float beta2, float weight_decay, float eps, float step_size,
                               float bias2_sqrt, float* __restrict param, const float* __restrict grad,
                               float* __restrict m, float* __restrict v, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = grad[i] + weight_decay * param[i];
    const float mi = beta1 * m[i] + (1.0f - beta1) * g;
    const float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    const float denom = std::sqrt(vi) / bias2_sqrt + eps;
    param[i] -= step_size * mi / denom;
  }
}

}  // namespace

void adam_step_f32(const AdamHyper& h, int64_t step, float* param, const float* grad, float* m, float* v, int64_t n) {
  // Bias corrections in double, then the per-element update in f32 like PyTorch's.
  const double t = static_cast<double>(step);
  const float bias1 = static_cast<float>(1.0 - std::pow(static_cast<double>(h.beta1), t));
  const float bias2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(static_cast<double>(h.beta2), t)));
  const float step_size = h.lr / bias1;
  // Elements are independent, so any split over threads gives the same bits. Ranges of
  // at least 16K elements (~11 us of work): the model's tensors from 2 x 16K up (the
  // 31K-131K-element dense kernels, most of its 314,825 parameters) use both cores, as
  // PyTorch's Adam does.
  parallel_for(n, kElementwiseGrain / 2, [&](int64_t begin, int64_t end) {
    adam_range(h.beta1, h.beta2, h.weight_decay, h.eps, step_size, bias2_sqrt, param + begin, grad + begin, m + begin,
               v + begin, end - begin);
  });
}

}  // namespace hl::cpu
