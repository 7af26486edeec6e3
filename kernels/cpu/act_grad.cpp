#include "kernels/cpu/act_grad.h"

#include <cmath>

#include "kernels/cpu/parallel.h"
#include "kernels/cpu/vec_math.h"

namespace hl::cpu {

namespace {

// The f32 backward (training) runs one vectorised loop per kind; the generic template
// (double for the finite-difference checks, and the f32 forward, which only tests use:
// training's forward is kernels/cpu/elementwise) keeps the plain formulas.
HL_SIMD_CLONES void activation_backward_f32(Activation kind, const float* y, const float* dy, float* dx, int64_t n) {
  switch (kind) {
    case Activation::Relu:
      for (int64_t i = 0; i < n; ++i) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
      break;
    case Activation::Sigmoid:
      for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
      break;
    case Activation::Tanh:
      for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
      break;
  }
}

}  // namespace

template <typename T>
void activation_forward(Activation kind, const T* x, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    switch (kind) {
      case Activation::Relu:
        y[i] = x[i] > T(0) ? x[i] : T(0);
        break;
      case Activation::Sigmoid:
        y[i] = T(1) / (T(1) + std::exp(-x[i]));
        break;
      case Activation::Tanh:
        y[i] = std::tanh(x[i]);
        break;
    }
  }
}

template <typename T>
void activation_backward(Activation kind, const T* y, const T* dy, T* dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    switch (kind) {
      case Activation::Relu:
        dx[i] = y[i] > T(0) ? dy[i] : T(0);
        break;
      case Activation::Sigmoid:
        dx[i] = dy[i] * y[i] * (T(1) - y[i]);
        break;
      case Activation::Tanh:
        dx[i] = dy[i] * (T(1) - y[i] * y[i]);
        break;
    }
  }
}

template <typename T>
void broadcast_middle(const T* dy, T* dx, int64_t outer, int64_t n, int64_t inner, T alpha) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t i = 0; i < inner; ++i) dx[(o * n + j) * inner + i] = alpha * dy[o * inner + i];
}

template <>
void activation_backward<float>(Activation kind, const float* y, const float* dy, float* dx, int64_t n) {
  parallel_for(n, kElementwiseGrain,
               [&](int64_t i, int64_t e) { activation_backward_f32(kind, y + i, dy + i, dx + i, e - i); });
}

#define HL_INSTANTIATE(T)                                                                      \
  template void activation_forward<T>(Activation, const T*, T*, int64_t);                      \
  template void activation_backward<T>(Activation, const T*, const T*, T*, int64_t);           \
  template void broadcast_middle<T>(const T*, T*, int64_t, int64_t, int64_t, T);
template void activation_forward<float>(Activation, const float*, float*, int64_t);
template void broadcast_middle<float>(const float*, float*, int64_t, int64_t, int64_t, float);
HL_INSTANTIATE(double)
#undef HL_INSTANTIATE

}  // namespace hl::cpu
