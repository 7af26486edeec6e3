#include "kernels/cpu/softmax.h"

#include <algorithm>
#include <cmath>

namespace hl::cpu {

template <typename T>
void softmax_forward(const T* x, T* y, int64_t outer, int64_t n, int64_t inner) {
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
