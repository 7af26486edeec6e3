// Softmax along a dimension (kernels/cuda/softmax.h). One thread per (outer, inner)
// column walks its n elements exactly as the CPU loop does (max, exp, double sum,
// multiply by the f32 reciprocal), so results differ from the CPU only by expf's few
// ulp. Neighbouring threads take neighbouring inner positions, so reads coalesce when
// inner > 1; for inner == 1 (softmax over the last dimension) each thread reads its own
// row: simple rather than fast, and the model's softmaxes are small.
#include <cstdint>

#include "kernels/cuda/check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/softmax.h"

namespace hl::cuda {
namespace {

__global__ void softmax_forward_kernel(const float* x, float* y, int64_t outer, int64_t n, int64_t inner) {
  for (int64_t col = grid_first(); col < outer * inner; col += grid_stride()) {
    const int64_t o = col / inner, i = col % inner;
    const float* xs = x + o * n * inner + i;
    float* ys = y + o * n * inner + i;
    float hi = xs[0];
    for (int64_t j = 1; j < n; ++j) hi = fmaxf(hi, xs[j * inner]);
    double total = 0;
    for (int64_t j = 0; j < n; ++j) {
      ys[j * inner] = expf(__fsub_rn(xs[j * inner], hi));
      total += ys[j * inner];
    }
    const float inv = static_cast<float>(1.0 / total);
    for (int64_t j = 0; j < n; ++j) ys[j * inner] = __fmul_rn(ys[j * inner], inv);
  }
}

__global__ void softmax_backward_kernel(const float* y, const float* dy, float* dx, int64_t outer, int64_t n,
                                        int64_t inner) {
  for (int64_t col = grid_first(); col < outer * inner; col += grid_stride()) {
    const int64_t o = col / inner, i = col % inner;
    const int64_t base = o * n * inner + i;
    double dot = 0;
    for (int64_t j = 0; j < n; ++j)
      dot = __dadd_rn(dot,
                      __dmul_rn(static_cast<double>(dy[base + j * inner]), static_cast<double>(y[base + j * inner])));
    const float d = static_cast<float>(dot);
    for (int64_t j = 0; j < n; ++j)
      dx[base + j * inner] = __fmul_rn(y[base + j * inner], __fsub_rn(dy[base + j * inner], d));
  }
}

}  // namespace

void softmax_forward(const float* x, float* y, int64_t outer, int64_t n, int64_t inner, cudaStream_t stream) {
  const int64_t columns = outer * inner;
  if (columns <= 0 || n <= 0) return;
  softmax_forward_kernel<<<grid_blocks(columns), kBlockThreads, 0, stream>>>(x, y, outer, n, inner);
  HL_CUDA_LAUNCH_CHECK();
}

void softmax_backward(const float* y, const float* dy, float* dx, int64_t outer, int64_t n, int64_t inner,
                      cudaStream_t stream) {
  const int64_t columns = outer * inner;
  if (columns <= 0 || n <= 0) return;
  softmax_backward_kernel<<<grid_blocks(columns), kBlockThreads, 0, stream>>>(y, dy, dx, outer, n, inner);
  HL_CUDA_LAUNCH_CHECK();
}

}  // namespace hl::cuda
