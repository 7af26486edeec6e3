#include "kernels/cpu/linear.h"

#include <algorithm>
#include <vector>

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
    GemmShape g;
    g.batch = s.batch;
    if (!s.trans_a) {  // dA [m, k] = dC [m, n] op(B)^T
      g.m = s.m, g.n = s.k, g.k = s.n;
      g.trans_b = !s.trans_b;
      g.stride_a = s.stride_c, g.stride_b = s.stride_b, g.stride_c = s.stride_a;
      gemm(g, dc, b, da);
    } else {  // A is [k, m]: dA = op(B) dC^T
      g.m = s.k, g.n = s.m, g.k = s.n;
      g.trans_a = s.trans_b;
      g.trans_b = true;
      g.stride_a = s.stride_b, g.stride_b = s.stride_c, g.stride_c = s.stride_a;
      gemm(g, b, dc, da);
    }
  }
  if (db && s.k * s.n > 0) {
    GemmShape g;
    g.batch = s.batch;
    const bool shared = s.stride_b == 0;
    // A shared B collects every batch entry's contribution: C += ..., C starts at zero.
    if (shared) {
      std::fill(db, db + s.k * s.n, T(0));
      g.beta = 1.0f;
    }
    if (!s.trans_b) {  // dB [k, n] = op(A)^T dC
      g.m = s.k, g.n = s.n, g.k = s.m;
      g.trans_a = !s.trans_a;
      g.stride_a = s.stride_a, g.stride_b = s.stride_c, g.stride_c = s.stride_b;
      gemm(g, a, dc, db);
    } else {  // B is [n, k]: dB = dC^T op(A)
      g.m = s.n, g.n = s.k, g.k = s.m;
      g.trans_a = true;
      g.trans_b = s.trans_a;
      g.stride_a = s.stride_c, g.stride_b = s.stride_a, g.stride_c = s.stride_b;
      gemm(g, dc, a, db);
    }
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
