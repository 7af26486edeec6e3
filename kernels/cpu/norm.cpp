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

// With c = x - mean, xhat = c inv and u = dy * g (the gradient of the normalised value):
//   Standard:  dx = inv (u - mean(u)) - xhat inv^2 sum(u c) / n
//   VasnetStd: dx = inv (u - mean(u)) - xhat inv sum(u c) / ((n - 1) sd)
// (d sd / dx_i = c_i / ((n - 1) sd); the mean's share cancels because sum(c) = 0), i.e.
// dx = inv (u - mean(u)) - xhat k with one k per row.
// Rows [0, rows) of x and dy: writes their dx (when dx is not null) and adds their
// shares of dg and db to dga, dba [n] (double).
// Five passes per row, the first from memory and the others from L1 (a row of 385
// floats is 1.5 KB): sum x, sum u, sum c^2, sum u c (one vectorised lane reduction
// each), then dg, db and dx together.
// The sums are in double lanes (kernels/cpu/lane_reduce.h), and so is the last pass
// (x - mean loses digits in float when |mean| >> sd, and dx's two terms nearly cancel
// on short rows), in vectors of 8 doubles. Issue 18 item 12: before, GCC left the
// loop summing u and u c together scalar and dg/db and dx were separate passes; the op
// was 0.9x PyTorch at 2 threads.
template <typename T>
[[gnu::always_inline]] inline void backward_rows(LayerNormKind kind, const T* x, const T* g, const T* dy, T* dx,
                                                 double* __restrict dga, double* __restrict dba, int64_t rows,
                                                 int64_t n, T eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* __restrict xr = x + r * n;
    const T* __restrict dyr = dy + r * n;
    double sum_x = 0, sum_u = 0, ss = 0, sum_uc = 0;
    if constexpr (std::is_same_v<T, float>) {
      // One lane reduction per pass: loops with two reductions were left scalar by GCC.
      sum_x = lanes::sum(xr, n);
      sum_u = lanes::dot(dyr, g, n);
      ss = lanes::sum_squared_deviation(xr, n, sum_x / static_cast<double>(n));
      sum_uc = lanes::dot_deviation(dyr, g, xr, n, sum_x / static_cast<double>(n));
    } else {
      for (int64_t i = 0; i < n; ++i) sum_x += xr[i], sum_u += dyr[i] * g[i];
      const double row_mean = sum_x / static_cast<double>(n);
      for (int64_t i = 0; i < n; ++i) {
        const double c = xr[i] - row_mean;
        ss += c * c;
        sum_uc += dyr[i] * g[i] * c;
      }
    }
    const double mean = sum_x / static_cast<double>(n), mean_u = sum_u / static_cast<double>(n);
    double inv, k;
    if (kind == LayerNormKind::Standard) {
      inv = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
      k = inv * inv * sum_uc / static_cast<double>(n);
    } else {
      const double sd = std::sqrt(ss / static_cast<double>(n - 1));
      inv = 1.0 / (sd + eps);
      k = inv * sum_uc / (static_cast<double>(n - 1) * sd);
    }
    T* __restrict dxr = dx ? dx + r * n : nullptr;
    for (int64_t j = 0; j < n; ++j) {
      const double xh = (static_cast<double>(xr[j]) - mean) * inv;
      dga[j] += static_cast<double>(dyr[j]) * xh;
      dba[j] += static_cast<double>(dyr[j]);
      // In double: for short rows the two terms nearly cancel (n = 2: 1e-5 off in float).
      if (dxr) dxr[j] = static_cast<T>(inv * (static_cast<double>(dyr[j]) * g[j] - mean_u) - xh * k);
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
