#include "kernels/cpu/softmax.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "kernels/cpu/lane_reduce.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/vec_math.h"

namespace hl::cpu {

namespace {

// f32 softmax along the last dimension (inner == 1, the common case: rows are
// contiguous), vectorised: the max and the sum in lanes, e^(x - max) <= 1 by
// kernels/cpu/vec_math.h. Same NaN behaviour as the general loop: a NaN anywhere in a
// row makes the row NaN.
HL_SIMD_CLONES void softmax_rows_forward(const float* x, float* y, int64_t rows, int64_t n) {
  for (int64_t o = 0; o < rows; ++o) {
    const float* __restrict xs = x + o * n;
    float* __restrict ys = y + o * n;
    const float hi = lanes::max(xs, n);
    for (int64_t j = 0; j < n; ++j) ys[j] = vec::exp_nonpositive(xs[j] - hi);
    const float inv = static_cast<float>(1.0 / lanes::sum(ys, n));
    for (int64_t j = 0; j < n; ++j) ys[j] *= inv;
  }
}

HL_SIMD_CLONES void softmax_rows_backward(const float* y, const float* dy, float* dx, int64_t rows, int64_t n) {
  for (int64_t o = 0; o < rows; ++o) {
    const float* __restrict ys = y + o * n;
    const float* __restrict dys = dy + o * n;
    float* __restrict dxs = dx + o * n;
    const float dot = static_cast<float>(lanes::dot(dys, ys, n));
    for (int64_t j = 0; j < n; ++j) dxs[j] = ys[j] * (dys[j] - dot);
  }
}

}  // namespace

template <typename T>
void softmax_forward(const T* x, T* y, int64_t outer, int64_t n, int64_t inner) {
  if constexpr (std::is_same_v<T, float>)
    if (inner == 1 && n > 0)
      return parallel_for(outer, kElementwiseGrain / n + 1,
                          [&](int64_t r0, int64_t r1) { softmax_rows_forward(x + r0 * n, y + r0 * n, r1 - r0, n); });
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const T* xs = x + o * n * inner + i;
      T* ys = y + o * n * inner + i;
      T hi = xs[0];
      for (int64_t j = 1; j < n; ++j) hi = std::max(hi, xs[j * inner]);
      double total = 0;
      for (int64_t j = 0; j < n; ++j) {
        ys[j * inner] = std::exp(xs[j * inner] - hi);
        total += ys[j * inner];
      }
      const T inv = static_cast<T>(1.0 / total);
      for (int64_t j = 0; j < n; ++j) ys[j * inner] *= inv;
    }
  }
}

template <typename T>
void softmax_backward(const T* y, const T* dy, T* dx, int64_t outer, int64_t n, int64_t inner) {
  if constexpr (std::is_same_v<T, float>)
    if (inner == 1 && n > 0)
      return parallel_for(outer, kElementwiseGrain / n + 1, [&](int64_t r0, int64_t r1) {
        softmax_rows_backward(y + r0 * n, dy + r0 * n, dx + r0 * n, r1 - r0, n);
      });
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t base = o * n * inner + i;
      double dot = 0;
      for (int64_t j = 0; j < n; ++j) dot += static_cast<double>(dy[base + j * inner]) * y[base + j * inner];
      for (int64_t j = 0; j < n; ++j)
        dx[base + j * inner] = y[base + j * inner] * (dy[base + j * inner] - static_cast<T>(dot));
    }
  }
}

template void softmax_forward<float>(const float*, float*, int64_t, int64_t, int64_t);
template void softmax_forward<double>(const double*, double*, int64_t, int64_t, int64_t);
template void softmax_backward<float>(const float*, const float*, float*, int64_t, int64_t, int64_t);
template void softmax_backward<double>(const double*, const double*, double*, int64_t, int64_t, int64_t);

}  // namespace hl::cpu
