#include "kernels/cpu/loss.h"

namespace hl::cpu {

namespace {

struct Moments {
  double mean_p = 0, mean_y = 0, var_p = 0, var_y = 0, cov = 0;
  double denominator() const { return var_p + var_y + (mean_p - mean_y) * (mean_p - mean_y); }
};

template <typename T>
Moments moments(const T* p, const T* y, int64_t n) {
  Moments m;
  for (int64_t i = 0; i < n; ++i) {
    m.mean_p += p[i];
    m.mean_y += y[i];
  }
  m.mean_p /= static_cast<double>(n);
  m.mean_y /= static_cast<double>(n);
  // Two passes (centre first): the one-pass formula loses digits when the mean is large.
  for (int64_t i = 0; i < n; ++i) {
    const double dp = p[i] - m.mean_p, dy = y[i] - m.mean_y;
    m.var_p += dp * dp;
    m.var_y += dy * dy;
    m.cov += dp * dy;
  }
  m.var_p /= static_cast<double>(n);
  m.var_y /= static_cast<double>(n);
  m.cov /= static_cast<double>(n);
  return m;
}

}  // namespace

template <typename T>
T mse_forward(const T* p, const T* y, int64_t n) {
  double total = 0;
  for (int64_t i = 0; i < n; ++i) total += (static_cast<double>(p[i]) - y[i]) * (static_cast<double>(p[i]) - y[i]);
  return static_cast<T>(total / static_cast<double>(n));
}

template <typename T>
void mse_backward(const T* p, const T* y, int64_t n, T dloss, T* dp) {
  const double k = 2.0 * dloss / static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i) dp[i] = static_cast<T>(k * (static_cast<double>(p[i]) - y[i]));
}

template <typename T>
T ccc_loss_forward(const T* p, const T* y, int64_t n) {
  const Moments m = moments(p, y, n);
  return static_cast<T>(1.0 - 2.0 * m.cov / m.denominator());
}

// rho = 2 cov / D with D = var_p + var_y + (mean_p - mean_y)^2. Per element:
//   d cov / dp_i = (y_i - mean_y) / n
//   d D / dp_i   = 2 (p_i - mean_p) / n + 2 (mean_p - mean_y) / n
// (the mean_p terms of d cov and d var_p sum to zero over the centred values).
template <typename T>
void ccc_loss_backward(const T* p, const T* y, int64_t n, T dloss, T* dp) {
  const Moments m = moments(p, y, n);
  const double d = m.denominator(), inv_n = 1.0 / static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i) {
    const double dcov = (y[i] - m.mean_y) * inv_n;
    const double dden = 2.0 * ((p[i] - m.mean_p) + (m.mean_p - m.mean_y)) * inv_n;
    const double drho = (2.0 * dcov * d - 2.0 * m.cov * dden) / (d * d);
    dp[i] = static_cast<T>(-drho * dloss);
  }
}

template <typename T>
T margin_ranking_forward(const T* hi, const T* lo, int64_t n, T margin) {
  double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double h = static_cast<double>(margin) - (static_cast<double>(hi[i]) - lo[i]);
    if (h > 0) total += h;
  }
  return static_cast<T>(total / static_cast<double>(n));
}

template <typename T>
void margin_ranking_backward(const T* hi, const T* lo, int64_t n, T margin, T dloss, T* dhi, T* dlo) {
  const T k = dloss / static_cast<T>(n);
  for (int64_t i = 0; i < n; ++i) {
    const bool active = margin - (hi[i] - lo[i]) > T(0);
    if (dhi) dhi[i] = active ? -k : T(0);
    if (dlo) dlo[i] = active ? k : T(0);
  }
}

#define HL_INSTANTIATE(T)                                                                    \
  template T mse_forward<T>(const T*, const T*, int64_t);                                    \
  template void mse_backward<T>(const T*, const T*, int64_t, T, T*);                         \
  template T ccc_loss_forward<T>(const T*, const T*, int64_t);                               \
  template void ccc_loss_backward<T>(const T*, const T*, int64_t, T, T*);                    \
  template T margin_ranking_forward<T>(const T*, const T*, int64_t, T);                      \
  template void margin_ranking_backward<T>(const T*, const T*, int64_t, T, T, T*, T*);
HL_INSTANTIATE(float)
HL_INSTANTIATE(double)
#undef HL_INSTANTIATE

void mse_forward(const float* p, const float* y, int64_t n, float* loss) { *loss = mse_forward(p, y, n); }
void mse_backward(const float* p, const float* y, int64_t n, const float* dloss, float* dp) {
  mse_backward(p, y, n, *dloss, dp);
}
void ccc_loss_forward(const float* p, const float* y, int64_t n, float* loss) { *loss = ccc_loss_forward(p, y, n); }
void ccc_loss_backward(const float* p, const float* y, int64_t n, const float* dloss, float* dp) {
  ccc_loss_backward(p, y, n, *dloss, dp);
}
void margin_ranking_forward(const float* hi, const float* lo, int64_t n, float margin, float* loss) {
  *loss = margin_ranking_forward(hi, lo, n, margin);
}
void margin_ranking_backward(const float* hi, const float* lo, int64_t n, float margin, const float* dloss,
                             float* dhi, float* dlo) {
  margin_ranking_backward(hi, lo, n, margin, *dloss, dhi, dlo);
}

}  // namespace hl::cpu
