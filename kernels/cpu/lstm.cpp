#include "kernels/cpu/lstm.h"

#include <cmath>
#include <cstddef>
#include <limits>
#include <type_traits>
#include <vector>

#include "kernels/cpu/gemm_f64.h"
#include "kernels/cpu/linear.h"
#include "kernels/cpu/scratch.h"
#include "kernels/cpu/vec_math.h"

namespace hl::cpu {

namespace {

// f32 (training) uses the vectorisable kernels/cpu/vec_math.h; double (the finite-
// difference checks) the plain formulas.
template <typename T>
inline T sigmoid(T v) {
  if constexpr (std::is_same_v<T, float>)
    return vec::sigmoid(v);
  else
    return T(1) / (T(1) + std::exp(-v));
}
template <typename T>
inline T tanh_of(T v) {
  if constexpr (std::is_same_v<T, float>)
    return vec::tanh(v);
  else
    return std::tanh(v);
}

// v, or 0 when |v| is below the smallest normal number of T (see cell_backward).
template <typename T>
inline T flush_tiny(T v) {
  return std::fabs(v) < std::numeric_limits<T>::min() ? T(0) : v;
}

// h_{t-1} * r for every batch entry, gathered into prev [batch, hidden] (zeros at the start).
template <typename T>
void previous_h(const LstmShape& s, const T* hs, const T* r, int64_t t_prev, bool first, T* prev) {
  const int64_t H = s.hidden;
  for (int64_t bi = 0; bi < s.batch; ++bi)
    for (int64_t j = 0; j < H; ++j)
      prev[bi * H + j] = first ? T(0) : hs[(bi * s.time + t_prev) * H + j] * (r ? r[bi * H + j] : T(1));
}

// One batch entry's cell at one step: activated gates gt [4H] from the pre-activations
// zt (sigmoid for i, f, o; tanh for g), then c_t and h_t. Two plain loops over
// restrict-qualified rows so that both vectorise (H is small, 20 in the paper).
template <typename T>
[[gnu::always_inline]] inline void cell_forward_row(int64_t H, const T* __restrict zt, const T* __restrict c_prev,
                                                    T* __restrict gt, T* __restrict c_out, T* __restrict h_out) {
  for (int64_t j = 0; j < 2 * H; ++j) gt[j] = sigmoid(zt[j]);      // i, f
  for (int64_t j = 2 * H; j < 3 * H; ++j) gt[j] = tanh_of(zt[j]);  // g
  for (int64_t j = 3 * H; j < 4 * H; ++j) gt[j] = sigmoid(zt[j]);  // o
  for (int64_t j = 0; j < H; ++j) {
    const T c = gt[H + j] * c_prev[j] + gt[j] * gt[2 * H + j];
    c_out[j] = c;
    h_out[j] = gt[3 * H + j] * tanh_of(c);
  }
}

// One step's cell for every batch entry, from the pre-activations z [batch, 4H]:
// writes the activated gates, c_t and h_t at time t. At the first step c_{t-1} is
// zero_row (H zeros) for every entry.
template <typename T>
HL_SIMD_CLONES void cell_forward(const LstmShape& s, int64_t t, int64_t t_prev, bool first, const T* zero_row,
                                 const T* z, T* gates, T* cs, T* hs) {
  const int64_t H = s.hidden, G = 4 * H, Tn = s.time;
  for (int64_t bi = 0; bi < s.batch; ++bi)
    cell_forward_row(H, z + bi * G, first ? zero_row : cs + (bi * Tn + t_prev) * H, gates + (bi * Tn + t) * G,
                     cs + (bi * Tn + t) * H, hs + (bi * Tn + t) * H);
}

// One step backward for every batch entry: from dh (the output gradient at t plus what
// came back through u) and dc_next, the gate pre-activation gradients dz [batch, 4H]
// (also stored at time t of dz_all) and dc for the step before.
//
// Gradients carried back through many steps decay geometrically (the last state is the
// model's output, so steps far from it get ~f^n of it) into the denormal range, where
// every x86 multiply takes a microcode assist: with the paper's 150 steps that made the
// CPU step ~1.4x slower at batch 300 and ~2x at 32. So dz and dc below the smallest
// normal float (1.2e-38) are written as zero here, what flush-to-zero mode would do
// with them; the change is below anything f32 training can resolve (PyTorch's own
// results differ from f64 training by ~1e-4, tests/model/test_highlight_model_golden).
template <typename T>
[[gnu::always_inline]] inline void cell_backward_row(int64_t H, const T* __restrict gt, const T* __restrict c_t,
                                                     const T* __restrict c_prev, const T* __restrict dh_out,
                                                     const T* __restrict dh_back, T* __restrict dcn, T* __restrict d,
                                                     T* __restrict dst) {
  for (int64_t j = 0; j < H; ++j) {
    const T i = gt[j], f = gt[H + j], gg = gt[2 * H + j], o = gt[3 * H + j];
    const T tc = tanh_of(c_t[j]);
    const T dh = dh_out[j] + dh_back[j];
    const T dc = dcn[j] + dh * o * (T(1) - tc * tc);
    d[j] = flush_tiny(dc * gg * i * (T(1) - i));
    d[H + j] = flush_tiny(dc * c_prev[j] * f * (T(1) - f));
    d[2 * H + j] = flush_tiny(dc * i * (T(1) - gg * gg));
    d[3 * H + j] = flush_tiny(dh * tc * o * (T(1) - o));
    dcn[j] = flush_tiny(dc * f);
  }
  for (int64_t j = 0; j < 4 * H; ++j) dst[j] = d[j];
}

template <typename T>
HL_SIMD_CLONES void cell_backward(const LstmShape& s, int64_t t, int64_t t_prev, bool first, const T* zero_row,
                                  const T* cs, const T* gates, const T* dhs, const T* dh_rec, T* dc_next, T* dz,
                                  T* dz_all) {
  const int64_t H = s.hidden, G = 4 * H, Tn = s.time;
  for (int64_t bi = 0; bi < s.batch; ++bi)
    cell_backward_row(H, gates + (bi * Tn + t) * G, cs + (bi * Tn + t) * H,
                      first ? zero_row : cs + (bi * Tn + t_prev) * H, dhs + (bi * Tn + t) * H, dh_rec + bi * H,
                      dc_next + bi * H, dz + bi * G, dz_all + (bi * Tn + t) * G);
}

}  // namespace

template <typename T>
void lstm_forward(const LstmShape& s, const T* x, const T* w, const T* u, const T* b, const T* r, T* hs, T* cs,
                  T* gates) {
  const int64_t B = s.batch, Tn = s.time, H = s.hidden, G = 4 * H;
  if (B * Tn * H == 0) return;
  // All input products at once: gates holds z = x w + b, then each step adds h u in place.
  linear_forward(x, w, b, gates, B * Tn, s.input, G);
  Scratch<T> prev(B * H), z(B * G);
  const std::vector<T> zero_row(static_cast<size_t>(H), T(0));  // c_{-1}
  for (int64_t step = 0; step < Tn; ++step) {
    const int64_t t = s.reverse ? Tn - 1 - step : step, t_prev = s.reverse ? t + 1 : t - 1;
    previous_h(s, hs, r, t_prev, step == 0, prev.data());
    for (int64_t bi = 0; bi < B; ++bi)
      for (int64_t j = 0; j < G; ++j) z.data()[bi * G + j] = gates[(bi * Tn + t) * G + j];
    GemmShape g;  // z [B, 4H] += prev [B, H] u [H, 4H]
    g.m = B, g.n = G, g.k = H, g.beta = 1.0f;
    gemm(g, prev.data(), u, z.data());
    cell_forward(s, t, t_prev, step == 0, zero_row.data(), z.data(), gates, cs, hs);
  }
}

template <typename T>
void lstm_backward(const LstmShape& s, const T* x, const T* w, const T* u, const T* r, const T* hs, const T* cs,
                   const T* gates, const T* dhs, T* dx, T* dw, T* du, T* db) {
  const int64_t B = s.batch, Tn = s.time, H = s.hidden, G = 4 * H;
  // d loss / d z, [B, T, 4H]; every step writes its slice.
  Scratch<T> dz_all(B * Tn * G);
  std::vector<T> dh_rec(static_cast<size_t>(B * H), T(0));  // from step t + 1 through u
  std::vector<T> dc_next(static_cast<size_t>(B * H), T(0));
  Scratch<T> dz(B * G), prev(B * H), dprev(B * H);
  const std::vector<T> zero_row(static_cast<size_t>(H), T(0));  // c_{-1}
  if (du)
    for (int64_t i = 0; i < H * G; ++i) du[i] = T(0);
  for (int64_t step = Tn - 1; step >= 0; --step) {
    const int64_t t = s.reverse ? Tn - 1 - step : step, t_prev = s.reverse ? t + 1 : t - 1;
    cell_backward(s, t, t_prev, step == 0, zero_row.data(), cs, gates, dhs, dh_rec.data(), dc_next.data(), dz.data(),
                  dz_all.data());
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
    for (int64_t i = 0; i < B * H; ++i) dh_rec[i] = flush_tiny(dprev.data()[i] * (r ? r[i] : T(1)));
  }
  linear_backward(x, w, dz_all.data(), dx, dw, db, B * Tn, s.input, G);
}

#define HL_INSTANTIATE(T)                                                                                        \
  template void lstm_forward<T>(const LstmShape&, const T*, const T*, const T*, const T*, const T*, T*, T*, T*); \
  template void lstm_backward<T>(const LstmShape&, const T*, const T*, const T*, const T*, const T*, const T*,   \
                                 const T*, const T*, T*, T*, T*, T*);
HL_INSTANTIATE(float)
HL_INSTANTIATE(double)
#undef HL_INSTANTIATE

}  // namespace hl::cpu
