// Adam (kernels/cuda/optim.h). The CPU kernel is compiled with -ffp-contract=off, so
// each of its f32 operations rounds separately; here every operation is an explicit
// __f*_rn intrinsic in the same order (sqrt and division are IEEE-rounded ones), which
// nvcc may not contract or reorder.
#include <cmath>
#include <cstdint>

#include "kernels/cuda/check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/optim.h"

namespace hl::cuda {
namespace {

struct AdamScalars {
  float beta1, one_minus_beta1, beta2, one_minus_beta2, eps, weight_decay, bias2_sqrt, step_size;
};

__global__ void adam_kernel(AdamScalars k, float* param, const float* grad, float* m, float* v, int64_t n) {
  for (int64_t i = grid_first(); i < n; i += grid_stride()) {
    const float p = param[i];
    const float g = __fadd_rn(grad[i], __fmul_rn(k.weight_decay, p));                       // grad + wd * param
    const float mi = __fadd_rn(__fmul_rn(k.beta1, m[i]), __fmul_rn(k.one_minus_beta1, g));  // b1 m + (1 - b1) g
    const float vi = __fadd_rn(__fmul_rn(k.beta2, v[i]), __fmul_rn(__fmul_rn(k.one_minus_beta2, g), g));
    const float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(vi), k.bias2_sqrt), k.eps);
    m[i] = mi;
    v[i] = vi;
    param[i] = __fsub_rn(p, __fdiv_rn(__fmul_rn(k.step_size, mi), denom));
  }
}

}  // namespace

void adam_step_f32(const AdamHyper& h, int64_t step, float* param, const float* grad, float* m, float* v, int64_t n,
                   cudaStream_t stream) {
  if (n <= 0) return;
  // kernels/cpu/optim.cpp, verbatim: bias corrections in double, then f32.
  const double t = static_cast<double>(step);
  const float bias1 = static_cast<float>(1.0 - std::pow(static_cast<double>(h.beta1), t));
  const float bias2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(static_cast<double>(h.beta2), t)));
  AdamScalars k;
  k.beta1 = h.beta1;
  k.one_minus_beta1 = 1.0f - h.beta1;
  k.beta2 = h.beta2;
  k.one_minus_beta2 = 1.0f - h.beta2;
  k.eps = h.eps;
  k.weight_decay = h.weight_decay;
  k.bias2_sqrt = bias2_sqrt;
  k.step_size = h.lr / bias1;
  adam_kernel<<<grid_blocks(n), kBlockThreads, 0, stream>>>(k, param, grad, m, v, n);
  HL_CUDA_LAUNCH_CHECK();
}

}  // namespace hl::cuda
