// Layer normalisation (kernels/cuda/norm.h). Simple, not fast: one thread per row runs
// the CPU's row loop (statistics in double, same formulas, same order), and the gain and
// bias gradients are one thread per column summing over the rows in row order, reading
// the row statistics the row pass saved. Neighbouring threads of the column pass read
// neighbouring columns (coalesced); the row passes read strided rows.
#include <cmath>
#include <cstdint>

#include "kernels/cuda/check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/norm.h"

namespace hl::cuda {
namespace {

struct RowStats {
  double mean, inv, sd;
};

// kernels/cpu/norm.cpp row_stats.
__device__ RowStats row_stats(LayerNormKind kind, const float* x, int64_t n, float eps) {
  double mean = 0;
  for (int64_t i = 0; i < n; ++i) mean += x[i];
  mean /= static_cast<double>(n);
  double ss = 0;
  for (int64_t i = 0; i < n; ++i) ss += (x[i] - mean) * (x[i] - mean);
  if (kind == LayerNormKind::Standard) return {mean, 1.0 / sqrt(ss / static_cast<double>(n) + eps), 0.0};
  const double sd = sqrt(ss / static_cast<double>(n - 1));
  return {mean, 1.0 / (sd + eps), sd};
}

__global__ void forward_kernel(LayerNormKind kind, const float* x, const float* g, const float* b, float* y,
                               int64_t rows, int64_t n, float eps) {
  for (int64_t r = grid_first(); r < rows; r += grid_stride()) {
    const float* xr = x + r * n;
    const RowStats st = row_stats(kind, xr, n, eps);
    for (int64_t i = 0; i < n; ++i) y[r * n + i] = static_cast<float>(g[i] * ((xr[i] - st.mean) * st.inv) + b[i]);
  }
}

// Per row: the statistics (saved to stats[3 r ...]) and, when dx is wanted, dx.
//   Standard:  dx = inv (u - mean(u) - c inv^2 sum(u c) / n)
//   VasnetStd: dx = inv (u - mean(u)) - c inv^2 sum(u c) / ((n - 1) sd)
__global__ void backward_rows_kernel(LayerNormKind kind, const float* x, const float* g, const float* dy, float* dx,
                                     int64_t rows, int64_t n, float eps, double* stats) {
  for (int64_t r = grid_first(); r < rows; r += grid_stride()) {
    const float* xr = x + r * n;
    const float* dyr = dy + r * n;
    const RowStats st = row_stats(kind, xr, n, eps);
    stats[3 * r] = st.mean;
    stats[3 * r + 1] = st.inv;
    stats[3 * r + 2] = st.sd;
    if (!dx) continue;
    double sum_u = 0, sum_uc = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double c = xr[i] - st.mean, u = static_cast<double>(dyr[i]) * g[i];
      sum_u += u;
      sum_uc += u * c;
    }
    const double mean_u = sum_u / static_cast<double>(n);
    for (int64_t i = 0; i < n; ++i) {
      const double c = xr[i] - st.mean, u = static_cast<double>(dyr[i]) * g[i];
      double v;
      if (kind == LayerNormKind::Standard)
        v = st.inv * (u - mean_u - c * st.inv * st.inv * sum_uc / static_cast<double>(n));
      else
        v = st.inv * (u - mean_u) - c * st.inv * st.inv * sum_uc / (static_cast<double>(n - 1) * st.sd);
      dx[r * n + i] = static_cast<float>(v);
    }
  }
}

// Column i: dg[i] = sum_r dy[r, i] (x[r, i] - mean_r) inv_r, db[i] = sum_r dy[r, i].
__global__ void backward_columns_kernel(const float* x, const float* dy, float* dg, float* db, int64_t rows, int64_t n,
                                        const double* stats) {
  for (int64_t i = grid_first(); i < n; i += grid_stride()) {
    double acc_g = 0, acc_b = 0;
    for (int64_t r = 0; r < rows; ++r) {
      const double c = x[r * n + i] - stats[3 * r];
      acc_g += dy[r * n + i] * c * stats[3 * r + 1];
      acc_b += dy[r * n + i];
    }
    if (dg) dg[i] = static_cast<float>(acc_g);
    if (db) db[i] = static_cast<float>(acc_b);
  }
}

}  // namespace

void layer_norm_forward(LayerNormKind kind, const float* x, const float* g, const float* b, float* y, int64_t rows,
                        int64_t n, float eps, cudaStream_t stream) {
  if (rows <= 0 || n <= 0) return;
  forward_kernel<<<grid_blocks(rows), kBlockThreads, 0, stream>>>(kind, x, g, b, y, rows, n, eps);
  HL_CUDA_LAUNCH_CHECK();
}

void layer_norm_backward(LayerNormKind kind, const float* x, const float* g, const float* dy, float* dx, float* dg,
                         float* db, int64_t rows, int64_t n, float eps, void* workspace, cudaStream_t stream) {
  if (n <= 0) return;
  auto* stats = static_cast<double*>(workspace);
  if (rows > 0) {
    backward_rows_kernel<<<grid_blocks(rows), kBlockThreads, 0, stream>>>(kind, x, g, dy, dx, rows, n, eps, stats);
    HL_CUDA_LAUNCH_CHECK();
  }
  if (dg || db) {
    backward_columns_kernel<<<grid_blocks(n), kBlockThreads, 0, stream>>>(x, dy, dg, db, rows, n, stats);
    HL_CUDA_LAUNCH_CHECK();
  }
}

}  // namespace hl::cuda
