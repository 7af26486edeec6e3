#include "kernels/cpu/norm.h"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "kernels/cpu/lane_reduce.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/vec_math.h"

namespace hl::cpu {

namespace {

struct RowStats {
  double mean;
  double inv;  // y = g (x - mean) * inv + b
  double sd;   // VasnetStd: the unbiased standard deviation
};

// Two passes in double (mean, then squared deviations); f32 rows in lanes
// (kernels/cpu/lane_reduce.h).
template <typename T>
[[gnu::always_inline]] inline RowStats row_stats(LayerNormKind kind, const T* x, int64_t n, T eps) {
  double mean = 0, ss = 0;
  if constexpr (std::is_same_v<T, float>) {
    mean = lanes::sum(x, n) / static_cast<double>(n);
    ss = lanes::sum_squared_deviation(x, n, mean);
  } else {
    for (int64_t i = 0; i < n; ++i) mean += x[i];
    mean /= static_cast<double>(n);
    for (int64_t i = 0; i < n; ++i) ss += (x[i] - mean) * (x[i] - mean);
  }
  if (kind == LayerNormKind::Standard) return {mean, 1.0 / std::sqrt(ss / static_cast<double>(n) + eps), 0.0};
  const double sd = std::sqrt(ss / static_cast<double>(n - 1));
  return {mean, 1.0 / (sd + eps), sd};
}

// The bodies are inline templates so that the f32 entry points can compile them inside
// their AVX-512/AVX2 clones; the double ones (finite-difference checks) use them as is.
template <typename T>
[[gnu::always_inline]] inline void forward_rows(LayerNormKind kind, const T* x, const T* g, const T* b, T* y,
                                                int64_t rows, int64_t n, T eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * n;
    const RowStats st = row_stats(kind, xr, n, eps);
    for (int64_t i = 0; i < n; ++i) y[r * n + i] = static_cast<T>(g[i] * ((xr[i] - st.mean) * st.inv) + b[i]);
  }
}

// With c = x - mean and u = dy * g (the gradient of the normalised value):
//   Standard:  dx = inv (u - mean(u) - xhat mean(u xhat)),  xhat = c inv
//   VasnetStd: dx = inv (u - mean(u)) - c inv^2 sum(u c) / ((n - 1) sd)
// (d sd / dx_i = c_i / ((n - 1) sd); the mean's share cancels because sum(c) = 0).
// Rows [0, rows) of x and dy: writes their dx (when dx is not null) and adds their
// shares of dg and db to dga, dba [n] (double).
template <typename T>
[[gnu::always_inline]] inline void backward_rows(LayerNormKind kind, const T* x, const T* g, const T* dy, T* dx,
                                                 double* __restrict dga, double* __restrict dba, int64_t rows,
                                                 int64_t n, T eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* __restrict xr = x + r * n;
    const T* __restrict dyr = dy + r * n;
    const RowStats st = row_stats(kind, xr, n, eps);
    // sum u and sum u c in lanes (independent partial sums, so the loop vectorises).
    double acc_u[lanes::kLanes] = {}, acc_uc[lanes::kLanes] = {};
    int64_t i = 0;
    for (; i + lanes::kLanes <= n; i += lanes::kLanes)
      for (int64_t l = 0; l < lanes::kLanes; ++l) {
        const double c = xr[i + l] - st.mean, u = static_cast<double>(dyr[i + l]) * g[i + l];
        acc_u[l] += u;
        acc_uc[l] += u * c;
      }
    for (; i < n; ++i) {
      const double c = xr[i] - st.mean, u = static_cast<double>(dyr[i]) * g[i];
      acc_u[0] += u;
      acc_uc[0] += u * c;
    }
    const double sum_u = lanes::combine(acc_u), sum_uc = lanes::combine(acc_uc);
    for (int64_t k = 0; k < n; ++k) {
      dga[k] += dyr[k] * (xr[k] - st.mean) * st.inv;
      dba[k] += dyr[k];
    }
    if (!dx) continue;
    const double mean_u = sum_u / static_cast<double>(n);
    for (int64_t k = 0; k < n; ++k) {
      const double c = xr[k] - st.mean, u = static_cast<double>(dyr[k]) * g[k];
      double v;
      if (kind == LayerNormKind::Standard)
        v = st.inv * (u - mean_u - c * st.inv * st.inv * sum_uc / static_cast<double>(n));
      else
        v = st.inv * (u - mean_u) - c * st.inv * st.inv * sum_uc / (static_cast<double>(n - 1) * st.sd);
      dx[r * n + k] = static_cast<T>(v);
    }
  }
}

HL_SIMD_CLONES void forward_f32(LayerNormKind kind, const float* x, const float* g, const float* b, float* y,
                                int64_t rows, int64_t n, float eps) {
  forward_rows(kind, x, g, b, y, rows, n, eps);
}

HL_SIMD_CLONES void backward_f32(LayerNormKind kind, const float* x, const float* g, const float* dy, float* dx,
                                 double* dga, double* dba, int64_t rows, int64_t n, float eps) {
  backward_rows(kind, x, g, dy, dx, dga, dba, rows, n, eps);
}

// Rows per chunk of the backward pass. Each chunk sums its own dg/db partials, and the
// partials are added in chunk order, so the result is the same whatever the threads.
constexpr int64_t kBackwardChunkRows = 256;

}  // namespace

template <typename T>
void layer_norm_forward(LayerNormKind kind, const T* x, const T* g, const T* b, T* y, int64_t rows, int64_t n, T eps) {
  parallel_for(rows, kElementwiseGrain / std::max<int64_t>(n, 1) + 1, [&](int64_t r0, int64_t r1) {
    if constexpr (std::is_same_v<T, float>)
      forward_f32(kind, x + r0 * n, g, b, y + r0 * n, r1 - r0, n, eps);
    else
      forward_rows(kind, x + r0 * n, g, b, y + r0 * n, r1 - r0, n, eps);
  });
}

template <typename T>
void layer_norm_backward(LayerNormKind kind, const T* x, const T* g, const T* dy, T* dx, T* dg, T* db, int64_t rows,
                         int64_t n, T eps) {
  const int64_t chunks = (rows + kBackwardChunkRows - 1) / kBackwardChunkRows;
  std::vector<double> partial(static_cast<size_t>(chunks * 2 * n), 0.0);  // [chunk][dg | db][n]
  parallel_for(chunks, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t r0 = c * kBackwardChunkRows, count = std::min(kBackwardChunkRows, rows - r0);
      double* dga = partial.data() + c * 2 * n;
      T* dxc = dx ? dx + r0 * n : nullptr;
      if constexpr (std::is_same_v<T, float>)
        backward_f32(kind, x + r0 * n, g, dy + r0 * n, dxc, dga, dga + n, count, n, eps);
      else
        backward_rows(kind, x + r0 * n, g, dy + r0 * n, dxc, dga, dga + n, count, n, eps);
    }
  });
  for (int64_t i = 0; i < n; ++i) {
    double sum_g = 0, sum_b = 0;
    for (int64_t c = 0; c < chunks; ++c) sum_g += partial[(c * 2) * n + i], sum_b += partial[(c * 2 + 1) * n + i];
    if (dg) dg[i] = static_cast<T>(sum_g);
    if (db) db[i] = static_cast<T>(sum_b);
  }
}

#define HL_INSTANTIATE(T)                                                                                    \
  template void layer_norm_forward<T>(LayerNormKind, const T*, const T*, const T*, T*, int64_t, int64_t, T); \
  template void layer_norm_backward<T>(LayerNormKind, const T*, const T*, const T*, T*, T*, T*, int64_t, int64_t, T);
HL_INSTANTIATE(float)
HL_INSTANTIATE(double)
#undef HL_INSTANTIATE

}  // namespace hl::cpu
