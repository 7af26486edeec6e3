#include "kernels/cpu/norm.h"

#include <cmath>
#include <type_traits>
#include <vector>

#include "kernels/cpu/lane_reduce.h"
#include "kernels/cpu/vec_math.h"

namespace hl::cpu {

namespace {

struct RowStats {
  double mean;
  double inv;    // y = g (x - mean) * inv + b
  double sd;     // VasnetStd: the unbiased standard deviation
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
template <typename T>
[[gnu::always_inline]] inline void backward_rows(LayerNormKind kind, const T* x, const T* g, const T* dy, T* dx, T* dg,
                                                 T* db, int64_t rows, int64_t n, T eps) {
  std::vector<double> dg_acc(static_cast<size_t>(n), 0.0), db_acc(static_cast<size_t>(n), 0.0);
  double* __restrict dga = dg_acc.data();
  double* __restrict dba = db_acc.data();
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
  for (int64_t i = 0; i < n; ++i) {
    if (dg) dg[i] = static_cast<T>(dg_acc[i]);
    if (db) db[i] = static_cast<T>(db_acc[i]);
  }
}

HL_SIMD_CLONES void forward_f32(LayerNormKind kind, const float* x, const float* g, const float* b, float* y,
                                int64_t rows, int64_t n, float eps) {
  forward_rows(kind, x, g, b, y, rows, n, eps);
}

HL_SIMD_CLONES void backward_f32(LayerNormKind kind, const float* x, const float* g, const float* dy, float* dx,
                                 float* dg, float* db, int64_t rows, int64_t n, float eps) {
  backward_rows(kind, x, g, dy, dx, dg, db, rows, n, eps);
}

}  // namespace

template <typename T>
void layer_norm_forward(LayerNormKind kind, const T* x, const T* g, const T* b, T* y, int64_t rows, int64_t n, T eps) {
  if constexpr (std::is_same_v<T, float>) forward_f32(kind, x, g, b, y, rows, n, eps);
  else forward_rows(kind, x, g, b, y, rows, n, eps);
}

template <typename T>
void layer_norm_backward(LayerNormKind kind, const T* x, const T* g, const T* dy, T* dx, T* dg, T* db, int64_t rows,
                         int64_t n, T eps) {
  if constexpr (std::is_same_v<T, float>) backward_f32(kind, x, g, dy, dx, dg, db, rows, n, eps);
  else backward_rows(kind, x, g, dy, dx, dg, db, rows, n, eps);
}

#define HL_INSTANTIATE(T)                                                                                        \
  template void layer_norm_forward<T>(LayerNormKind, const T*, const T*, const T*, T*, int64_t, int64_t, T);    \
  template void layer_norm_backward<T>(LayerNormKind, const T*, const T*, const T*, T*, T*, T*, int64_t, int64_t, T);
HL_INSTANTIATE(float)
HL_INSTANTIATE(double)
#undef HL_INSTANTIATE

}  // namespace hl::cpu
