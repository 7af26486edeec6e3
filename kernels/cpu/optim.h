// One Adam step over n f32 parameters, in place, as torch.optim.Adam (v1.13) computes it:
//   g = grad + weight_decay * param            (L2 in the gradient, not AdamW)
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   param -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// step is t, counted from 1. (Keras's Adam puts eps outside the bias correction of v,
// which differs slightly; the issue pins torch.optim.Adam(eps=1e-7) as the reference.)
// The four arrays must not overlap. Vectorised for AVX-512/AVX2 and split over threads
// (kernels/cpu/parallel.h); the bits are the scalar loop's either way.
// CUDA twin: kernels/cuda/optim.h (bit for bit).
// Tests: tests/autograd/test_autograd_golden.cpp (ten steps against torch.optim.Adam);
// tests/kernels/test_adam_kernel.cpp (every length and thread count, NaN); on
// CUDA tests/cuda/test_cuda_autograd.cpp.
#pragma once
#include <cstdint>

namespace hl::cpu {

struct AdamHyper {
  float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-7f, weight_decay = 0.0f;
};

void adam_step_f32(const AdamHyper& h, int64_t step, float* param, const float* grad, float* m, float* v, int64_t n);

}  // namespace hl::cpu
