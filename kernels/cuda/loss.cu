// Losses (kernels/cuda/loss.h). The reductions are small (one value per segment of a
// batch), so each forward pass, and the whole CCC backward (moments, then gradients), is
// a single block of kThreads threads: stride over n, accumulate in double, combine
// through shared memory. The MSE and ranking gradients use a normal grid.
#include <cstdint>

#include "kernels/cuda/check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/loss.h"

namespace hl::cuda {
namespace {

constexpr int kThreads = 256;

// Sum of v over the block's threads; every thread gets the result. Uses `scratch`
// [kThreads] of shared memory and synchronises the block (call from all threads).
__device__ double block_sum(double v, double* scratch) {
  scratch[threadIdx.x] = v;
  __syncthreads();
  for (int half = kThreads / 2; half > 0; half /= 2) {
    if (static_cast<int>(threadIdx.x) < half) scratch[threadIdx.x] += scratch[threadIdx.x + half];
    __syncthreads();
  }
  const double total = scratch[0];
  __syncthreads();  // scratch may be reused by the next call
  return total;
}

struct Moments {
  double mean_p, mean_y, var_p, var_y, cov;
  __device__ double denominator() const { return var_p + var_y + (mean_p - mean_y) * (mean_p - mean_y); }
};

// Two passes like kernels/cpu/loss.cpp: means, then centred second moments. One block.
__device__ Moments block_moments(const float* p, const float* y, int64_t n, double* scratch) {
  double sp = 0, sy = 0;
  for (int64_t i = threadIdx.x; i < n; i += kThreads) {
    sp += p[i];
    sy += y[i];
  }
  Moments m;
  const double dn = static_cast<double>(n);
  m.mean_p = block_sum(sp, scratch) / dn;
  m.mean_y = block_sum(sy, scratch) / dn;
  double vp = 0, vy = 0, cv = 0;
  for (int64_t i = threadIdx.x; i < n; i += kThreads) {
    const double dp = p[i] - m.mean_p, dy = y[i] - m.mean_y;
    vp += dp * dp;
    vy += dy * dy;
    cv += dp * dy;
  }
  m.var_p = block_sum(vp, scratch) / dn;
  m.var_y = block_sum(vy, scratch) / dn;
  m.cov = block_sum(cv, scratch) / dn;
  return m;
}

__global__ void mse_forward_kernel(const float* p, const float* y, int64_t n, float* loss) {
  __shared__ double scratch[kThreads];
  double total = 0;
  for (int64_t i = threadIdx.x; i < n; i += kThreads) {
    const double d = static_cast<double>(p[i]) - y[i];
    total += d * d;
  }
  total = block_sum(total, scratch);
  if (threadIdx.x == 0) *loss = static_cast<float>(total / static_cast<double>(n));
}

__global__ void mse_backward_kernel(const float* p, const float* y, int64_t n, const float* dloss, float* dp) {
  const double k = 2.0 * static_cast<double>(*dloss) / static_cast<double>(n);
  for (int64_t i = grid_first(); i < n; i += grid_stride())
    dp[i] = static_cast<float>(k * (static_cast<double>(p[i]) - y[i]));
}

__global__ void ccc_forward_kernel(const float* p, const float* y, int64_t n, float* loss) {
  __shared__ double scratch[kThreads];
  const Moments m = block_moments(p, y, n, scratch);
  if (threadIdx.x == 0) *loss = static_cast<float>(1.0 - 2.0 * m.cov / m.denominator());
}

// kernels/cpu/loss.cpp ccc_loss_backward: the moments, then the per-element gradient,
// all in one block (n is one value per segment of a batch).
__global__ void ccc_backward_kernel(const float* p, const float* y, int64_t n, const float* dloss, float* dp) {
  __shared__ double scratch[kThreads];
  const Moments m = block_moments(p, y, n, scratch);
  const double d = m.denominator(), inv_n = 1.0 / static_cast<double>(n);
  const double dl = static_cast<double>(*dloss);
  for (int64_t i = threadIdx.x; i < n; i += kThreads) {
    const double dcov = (y[i] - m.mean_y) * inv_n;
    const double dden = 2.0 * ((p[i] - m.mean_p) + (m.mean_p - m.mean_y)) * inv_n;
    const double drho = (2.0 * dcov * d - 2.0 * m.cov * dden) / (d * d);
    dp[i] = static_cast<float>(-drho * dl);
  }
}

__global__ void margin_forward_kernel(const float* hi, const float* lo, int64_t n, float margin, float* loss) {
  __shared__ double scratch[kThreads];
  double total = 0;
  for (int64_t i = threadIdx.x; i < n; i += kThreads) {
    const double h = static_cast<double>(margin) - (static_cast<double>(hi[i]) - lo[i]);
    if (h > 0) total += h;
  }
  total = block_sum(total, scratch);
  if (threadIdx.x == 0) *loss = static_cast<float>(total / static_cast<double>(n));
}

// kernels/cpu/loss.cpp margin_ranking_backward: k = dloss / n and the test in f32.
__global__ void margin_backward_kernel(const float* hi, const float* lo, int64_t n, float margin, const float* dloss,
                                       float* dhi, float* dlo) {
  const float k = __fdiv_rn(*dloss, static_cast<float>(n));
  for (int64_t i = grid_first(); i < n; i += grid_stride()) {
    const bool active = __fsub_rn(margin, __fsub_rn(hi[i], lo[i])) > 0.0f;
    if (dhi) dhi[i] = active ? -k : 0.0f;
    if (dlo) dlo[i] = active ? k : 0.0f;
  }
}

}  // namespace

void mse_forward(const float* p, const float* y, int64_t n, float* loss, cudaStream_t stream) {
  mse_forward_kernel<<<1, kThreads, 0, stream>>>(p, y, n, loss);
  HL_CUDA_LAUNCH_CHECK();
}

void mse_backward(const float* p, const float* y, int64_t n, const float* dloss, float* dp, cudaStream_t stream) {
  if (n <= 0) return;
  mse_backward_kernel<<<grid_blocks(n), kBlockThreads, 0, stream>>>(p, y, n, dloss, dp);
  HL_CUDA_LAUNCH_CHECK();
}

void ccc_loss_forward(const float* p, const float* y, int64_t n, float* loss, cudaStream_t stream) {
  ccc_forward_kernel<<<1, kThreads, 0, stream>>>(p, y, n, loss);
  HL_CUDA_LAUNCH_CHECK();
}

void ccc_loss_backward(const float* p, const float* y, int64_t n, const float* dloss, float* dp,
                       cudaStream_t stream) {
  if (n <= 0) return;
  ccc_backward_kernel<<<1, kThreads, 0, stream>>>(p, y, n, dloss, dp);
  HL_CUDA_LAUNCH_CHECK();
}

void margin_ranking_forward(const float* hi, const float* lo, int64_t n, float margin, float* loss,
                            cudaStream_t stream) {
  margin_forward_kernel<<<1, kThreads, 0, stream>>>(hi, lo, n, margin, loss);
  HL_CUDA_LAUNCH_CHECK();
}

void margin_ranking_backward(const float* hi, const float* lo, int64_t n, float margin, const float* dloss,
                             float* dhi, float* dlo, cudaStream_t stream) {
  if (n <= 0) return;
  margin_backward_kernel<<<grid_blocks(n), kBlockThreads, 0, stream>>>(hi, lo, n, margin, dloss, dhi, dlo);
  HL_CUDA_LAUNCH_CHECK();
}

}  // namespace hl::cuda
