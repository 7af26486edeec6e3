#include "kernels/cpu/lstm.h"

#include <cmath>
#include <cstddef>
#include <vector>

#include "kernels/cpu/gemm_f64.h"
#include "kernels/cpu/linear.h"

namespace hl::cpu {

namespace {

template <typename T>
T sigmoid(T v) {
  return T(1) / (T(1) + std::exp(-v));
}

// h_{t-1} * r for every batch entry, gathered into prev [batch, hidden] (zeros at the start).
template <typename T>
void previous_h(const LstmShape& s, const T* hs, const T* r, int64_t t_prev, bool first, T* prev) {
  const int64_t H = s.hidden;
  for (int64_t bi = 0; bi < s.batch; ++bi)
    for (int64_t j = 0; j < H; ++j)
      prev[bi * H + j] = first ? T(0) : hs[(bi * s.time + t_prev) * H + j] * (r ? r[bi * H + j] : T(1));
}

}  // namespace

template <typename T>
void lstm_forward(const LstmShape& s, const T* x, const T* w, const T* u, const T* b, const T* r, T* hs, T* cs,
                  T* gates) {
  const int64_t B = s.batch, Tn = s.time, H = s.hidden, G = 4 * H;
  if (B * Tn * H == 0) return;
  // All input products at once: gates holds z = x w + b, then each step adds h u in place.
  linear_forward(x, w, b, gates, B * Tn, s.input, G);
  std::vector<T> prev(static_cast<size_t>(B * H)), z(static_cast<size_t>(B * G));
  for (int64_t step = 0; step < Tn; ++step) {
    const int64_t t = s.reverse ? Tn - 1 - step : step, t_prev = s.reverse ? t + 1 : t - 1;
    previous_h(s, hs, r, t_prev, step == 0, prev.data());
    for (int64_t bi = 0; bi < B; ++bi)
      for (int64_t j = 0; j < G; ++j) z[bi * G + j] = gates[(bi * Tn + t) * G + j];
    GemmShape g;  // z [B, 4H] += prev [B, H] u [H, 4H]
    g.m = B, g.n = G, g.k = H, g.beta = 1.0f;
    gemm(g, prev.data(), u, z.data());
    for (int64_t bi = 0; bi < B; ++bi) {
      T* gt = gates + (bi * Tn + t) * G;
      const T* zt = z.data() + bi * G;
      for (int64_t j = 0; j < H; ++j) {
        const T i = sigmoid(zt[j]), f = sigmoid(zt[H + j]), gg = std::tanh(zt[2 * H + j]), o = sigmoid(zt[3 * H + j]);
        const T c_prev = step == 0 ? T(0) : cs[(bi * Tn + t_prev) * H + j];
        const T c = f * c_prev + i * gg;
        gt[j] = i, gt[H + j] = f, gt[2 * H + j] = gg, gt[3 * H + j] = o;
        cs[(bi * Tn + t) * H + j] = c;
        hs[(bi * Tn + t) * H + j] = o * std::tanh(c);
      }
    }
  }
}

template <typename T>
void lstm_backward(const LstmShape& s, const T* x, const T* w, const T* u, const T* r, const T* hs, const T* cs,
                   const T* gates, const T* dhs, T* dx, T* dw, T* du, T* db) {
  const int64_t B = s.batch, Tn = s.time, H = s.hidden, G = 4 * H;
  std::vector<T> dz_all(static_cast<size_t>(B * Tn * G), T(0));  // d loss / d z, [B, T, 4H]
  std::vector<T> dh_rec(static_cast<size_t>(B * H), T(0));       // from step t + 1 through u
  std::vector<T> dc_next(static_cast<size_t>(B * H), T(0));
  std::vector<T> dz(static_cast<size_t>(B * G)), prev(static_cast<size_t>(B * H)), dprev(static_cast<size_t>(B * H));
  if (du)
    for (int64_t i = 0; i < H * G; ++i) du[i] = T(0);
  for (int64_t step = Tn - 1; step >= 0; --step) {
    const int64_t t = s.reverse ? Tn - 1 - step : step, t_prev = s.reverse ? t + 1 : t - 1;
    for (int64_t bi = 0; bi < B; ++bi) {
      const T* gt = gates + (bi * Tn + t) * G;
      for (int64_t j = 0; j < H; ++j) {
        const int64_t at = (bi * Tn + t) * H + j;
        const T i = gt[j], f = gt[H + j], gg = gt[2 * H + j], o = gt[3 * H + j];
        const T c_prev = step == 0 ? T(0) : cs[(bi * Tn + t_prev) * H + j];
        const T tc = std::tanh(cs[at]);
        const T dh = dhs[at] + dh_rec[bi * H + j];
        const T dc = dc_next[bi * H + j] + dh * o * (T(1) - tc * tc);
        T* d = dz.data() + bi * G;
        d[j] = dc * gg * i * (T(1) - i);
        d[H + j] = dc * c_prev * f * (T(1) - f);
        d[2 * H + j] = dc * i * (T(1) - gg * gg);
        d[3 * H + j] = dh * tc * o * (T(1) - o);
        dc_next[bi * H + j] = dc * f;
      }
      for (int64_t j = 0; j < G; ++j) dz_all[(bi * Tn + t) * G + j] = dz[bi * G + j];
    }
    if (step == 0) break;  // h_{-1} = 0: nothing flows further back, nothing adds to du
    if (du) {
      previous_h(s, hs, r, t_prev, false, prev.data());
      GemmShape g;  // du [H, 4H] += prev^T [H, B] dz [B, 4H]
      g.m = H, g.n = G, g.k = B, g.trans_a = true, g.beta = 1.0f;
      gemm(g, prev.data(), dz.data(), du);
    }
    GemmShape g;  // dprev [B, H] = dz [B, 4H] u^T [4H, H]
    g.m = B, g.n = H, g.k = G, g.trans_b = true;
    gemm(g, dz.data(), u, dprev.data());
    for (int64_t i = 0; i < B * H; ++i) dh_rec[i] = dprev[i] * (r ? r[i] : T(1));
  }
  linear_backward(x, w, dz_all.data(), dx, dw, db, B * Tn, s.input, G);
}

#define HL_INSTANTIATE(T)                                                                                      \
  template void lstm_forward<T>(const LstmShape&, const T*, const T*, const T*, const T*, const T*, T*, T*, T*); \
  template void lstm_backward<T>(const LstmShape&, const T*, const T*, const T*, const T*, const T*, const T*,   \
                                 const T*, const T*, T*, T*, T*, T*);
HL_INSTANTIATE(float)
HL_INSTANTIATE(double)
#undef HL_INSTANTIATE

}  // namespace hl::cpu
