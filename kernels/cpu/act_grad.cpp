#include "kernels/cpu/act_grad.h"

#include <cmath>

namespace hl::cpu {

template <typename T>
void activation_forward(Activation kind, const T* x, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    switch (kind) {
      case Activation::Relu: y[i] = x[i] > T(0) ? x[i] : T(0); break;
      case Activation::Sigmoid: y[i] = T(1) / (T(1) + std::exp(-x[i])); break;
      case Activation::Tanh: y[i] = std::tanh(x[i]); break;
    }
  }
}

template <typename T>
void activation_backward(Activation kind, const T* x, const T* y, const T* dy, T* dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    switch (kind) {
      case Activation::Relu: dx[i] = x[i] > T(0) ? dy[i] : T(0); break;
      case Activation::Sigmoid: dx[i] = dy[i] * y[i] * (T(1) - y[i]); break;
      case Activation::Tanh: dx[i] = dy[i] * (T(1) - y[i] * y[i]); break;
    }
  }
}

template <typename T>
void broadcast_middle(const T* dy, T* dx, int64_t outer, int64_t n, int64_t inner, T alpha) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t i = 0; i < inner; ++i) dx[(o * n + j) * inner + i] = alpha * dy[o * inner + i];
}

#define HL_INSTANTIATE(T)                                                                     \
  template void activation_forward<T>(Activation, const T*, T*, int64_t);                     \
  template void activation_backward<T>(Activation, const T*, const T*, const T*, T*, int64_t); \
  template void broadcast_middle<T>(const T*, T*, int64_t, int64_t, int64_t, T);
HL_INSTANTIATE(float)
HL_INSTANTIATE(double)
#undef HL_INSTANTIATE

}  // namespace hl::cpu
