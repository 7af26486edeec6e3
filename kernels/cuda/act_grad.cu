// Activation backward and the sum/mean backward (kernels/cuda/act_grad.h). Memory
// bound grid-stride loops; the arithmetic is the CPU kernel's, written with __fmul_rn /
// __fsub_rn so that nvcc cannot contract it into FMAs: results are bit-identical to
// kernels/cpu/act_grad.cpp (compiled with -ffp-contract=off).
#include <cstdint>

#include "kernels/cuda/act_grad.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/launch.cuh"

namespace hl::cuda {
namespace {

__global__ void relu_backward_kernel(const float* y, const float* dy, float* dx, int64_t n) {
  for (int64_t i = grid_first(); i < n; i += grid_stride()) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

// dy * y * (1 - y), evaluated left to right as on the CPU.
__global__ void sigmoid_backward_kernel(const float* y, const float* dy, float* dx, int64_t n) {
  for (int64_t i = grid_first(); i < n; i += grid_stride())
    dx[i] = __fmul_rn(__fmul_rn(dy[i], y[i]), __fsub_rn(1.0f, y[i]));
}

// dy * (1 - y * y)
__global__ void tanh_backward_kernel(const float* y, const float* dy, float* dx, int64_t n) {
  for (int64_t i = grid_first(); i < n; i += grid_stride())
    dx[i] = __fmul_rn(dy[i], __fsub_rn(1.0f, __fmul_rn(y[i], y[i])));
}

// One thread per element of dx [outer, n, inner].
__global__ void broadcast_middle_kernel(const float* dy, float* dx, int64_t outer, int64_t n, int64_t inner,
                                        float alpha) {
  const int64_t total = outer * n * inner;
  for (int64_t e = grid_first(); e < total; e += grid_stride()) {
    const int64_t i = e % inner;
    const int64_t o = e / (n * inner);
    dx[e] = __fmul_rn(alpha, dy[o * inner + i]);
  }
}

}  // namespace

void activation_backward(Activation kind, const float* y, const float* dy, float* dx, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  switch (kind) {
    case Activation::Relu:
      relu_backward_kernel<<<grid_blocks(n), kBlockThreads, 0, stream>>>(y, dy, dx, n);
      HL_CUDA_LAUNCH_CHECK();
      break;
    case Activation::Sigmoid:
      sigmoid_backward_kernel<<<grid_blocks(n), kBlockThreads, 0, stream>>>(y, dy, dx, n);
      HL_CUDA_LAUNCH_CHECK();
      break;
    case Activation::Tanh:
      tanh_backward_kernel<<<grid_blocks(n), kBlockThreads, 0, stream>>>(y, dy, dx, n);
      HL_CUDA_LAUNCH_CHECK();
      break;
  }
}

void broadcast_middle(const float* dy, float* dx, int64_t outer, int64_t n, int64_t inner, float alpha,
                      cudaStream_t stream) {
  const int64_t total = outer * n * inner;
  if (total <= 0) return;
  broadcast_middle_kernel<<<grid_blocks(total), kBlockThreads, 0, stream>>>(dy, dx, outer, n, inner, alpha);
  HL_CUDA_LAUNCH_CHECK();
}

}  // namespace hl::cuda
