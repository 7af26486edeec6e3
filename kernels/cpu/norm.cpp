#include "kernels/cpu/norm.h"

#include <cmath>
#include <vector>

namespace hl::cpu {

namespace {

struct RowStats {
  double mean;
  double inv;    // y = g (x - mean) * inv + b
  double sd;     // VasnetStd: the unbiased standard deviation
};

template <typename T>
RowStats row_stats(LayerNormKind kind, const T* x, int64_t n, T eps) {
  double mean = 0;
  for (int64_t i = 0; i < n; ++i) mean += x[i];
  mean /= static_cast<double>(n);
  double ss = 0;
  for (int64_t i = 0; i < n; ++i) ss += (x[i] - mean) * (x[i] - mean);
  if (kind == LayerNormKind::Standard) return {mean, 1.0 / std::sqrt(ss / static_cast<double>(n) + eps), 0.0};
  const double sd = std::sqrt(ss / static_cast<double>(n - 1));
  return {mean, 1.0 / (sd + eps), sd};
}

}  // namespace

template <typename T>
void layer_norm_forward(LayerNormKind kind, const T* x, const T* g, const T* b, T* y, int64_t rows, int64_t n, T eps) {
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
void layer_norm_backward(LayerNormKind kind, const T* x, const T* g, const T* dy, T* dx, T* dg, T* db, int64_t rows,
                         int64_t n, T eps) {
  std::vector<double> dg_acc(static_cast<size_t>(n), 0.0), db_acc(static_cast<size_t>(n), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * n;
    const T* dyr = dy + r * n;
    const RowStats st = row_stats(kind, xr, n, eps);
    double sum_u = 0, sum_uc = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double c = xr[i] - st.mean, u = static_cast<double>(dyr[i]) * g[i];
      sum_u += u;
      sum_uc += u * c;
      dg_acc[i] += dyr[i] * c * st.inv;
      db_acc[i] += dyr[i];
    }
    if (!dx) continue;
    const double mean_u = sum_u / static_cast<double>(n);
    for (int64_t i = 0; i < n; ++i) {
      const double c = xr[i] - st.mean, u = static_cast<double>(dyr[i]) * g[i];
      double v;
      if (kind == LayerNormKind::Standard)
        v = st.inv * (u - mean_u - c * st.inv * st.inv * sum_uc / static_cast<double>(n));
      else
        v = st.inv * (u - mean_u) - c * st.inv * st.inv * sum_uc / (static_cast<double>(n - 1) * st.sd);
      dx[r * n + i] = static_cast<T>(v);
    }
  }
  for (int64_t i = 0; i < n; ++i) {
    if (dg) dg[i] = static_cast<T>(dg_acc[i]);
    if (db) db[i] = static_cast<T>(db_acc[i]);
  }
}

#define HL_INSTANTIATE(T)                                                                                        \
  template void layer_norm_forward<T>(LayerNormKind, const T*, const T*, const T*, T*, int64_t, int64_t, T);    \
  template void layer_norm_backward<T>(LayerNormKind, const T*, const T*, const T*, T*, T*, T*, int64_t, int64_t, T);
HL_INSTANTIATE(float)
HL_INSTANTIATE(double)
#undef HL_INSTANTIATE

}  // namespace hl::cpu
