#include "kernels/cpu/linear.h"

#include <algorithm>
#include <vector>

#include "kernels/common/matmul_backward.h"
#include "kernels/cpu/gemm_f64.h"

namespace hl::cpu {

template <typename T>
void linear_forward(const T* x, const T* w, const T* b, T* y, int64_t rows, int64_t in, int64_t out) {
  GemmShape s;
  s.m = rows;
  s.k = in;
  s.n = out;
  if (rows * out == 0) return;
  gemm(s, x, w, y);
  if (b)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < out; ++j) y[r * out + j] += b[j];
}

template <typename T>
void linear_backward(const T* x, const T* w, const T* dy, T* dx, T* dw, T* db, int64_t rows, int64_t in, int64_t out) {
  if (dx && rows * in > 0) {
    GemmShape s;  // dx [rows, in] = dy [rows, out] W^T
    s.m = rows;
    s.n = in;
    s.k = out;
    s.trans_b = true;
    gemm(s, dy, w, dx);
  }
  if (dw && in * out > 0) {
    GemmShape s;  // dw [in, out] = x^T [in, rows] dy [rows, out]
    s.m = in;
    s.n = out;
    s.k = rows;
    s.trans_a = true;
    gemm(s, x, dy, dw);
  }
  if (db) {
    // Summed in double: rows can be large (batch x time) and the sum is a reduction.
    std::vector<double> acc(static_cast<size_t>(out), 0.0);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < out; ++j) acc[j] += dy[r * out + j];
    for (int64_t j = 0; j < out; ++j) db[j] = static_cast<T>(acc[j]);
  }
}

template <typename T>
void matmul_backward(const GemmShape& s, const T* a, const T* b, const T* dc, T* da, T* db) {
  if (da && s.batch * s.m * s.k > 0) {
    const MatmulGradGemm g = matmul_grad_a(s);
    g.dc_first ? gemm(g.shape, dc, b, da) : gemm(g.shape, b, dc, da);
  }
  if (db && s.k * s.n > 0) {
    const MatmulGradGemm g = matmul_grad_b(s);
    // A shared B: gemm runs the batch in order, each entry adding to dB (beta = 1).
    if (s.stride_b == 0) std::fill(db, db + s.k * s.n, T(0));
    g.dc_first ? gemm(g.shape, dc, a, db) : gemm(g.shape, a, dc, db);
  }
}

#define HL_INSTANTIATE(T)                                                                                   \
  template void linear_forward<T>(const T*, const T*, const T*, T*, int64_t, int64_t, int64_t);             \
  template void linear_backward<T>(const T*, const T*, const T*, T*, T*, T*, int64_t, int64_t, int64_t);    \
  template void matmul_backward<T>(const GemmShape&, const T*, const T*, const T*, T*, T*);
HL_INSTANTIATE(float)
HL_INSTANTIATE(double)
#undef HL_INSTANTIATE

}  // namespace hl::cpu
