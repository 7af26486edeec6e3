// Elementwise f32 ops: the readable specification the CUDA kernels are checked against.
#include "kernels/cpu/elementwise.h"

#include <cmath>

namespace hl::cpu {

void add_f32(const float* a, const float* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

void mul_f32(const float* a, const float* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] * b[i];
}

void scale_f32(const float* x, float alpha, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = alpha * x[i];
}

void relu_f32(const float* x, float* y, int64_t n) {
  // x > 0 ? x : 0 keeps NaN as NaN only if written carefully: NaN > 0 is false -> 0.
  // PyTorch's relu propagates NaN, so test for it explicitly.
  for (int64_t i = 0; i < n; ++i) y[i] = (x[i] > 0.0f || std::isnan(x[i])) ? x[i] : 0.0f;
}

void sigmoid_f32(const float* x, float* y, int64_t n) {
  // Two branches so that exp never overflows: for x < 0, e^x / (1 + e^x).
  for (int64_t i = 0; i < n; ++i) {
    float v = x[i];
    if (v >= 0.0f) {
      y[i] = 1.0f / (1.0f + std::exp(-v));
    } else {
      float e = std::exp(v);
      y[i] = e / (1.0f + e);
    }
  }
}

void tanh_f32(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
}

}  // namespace hl::cpu
