// Elementwise f32 ops: the readable specification the CUDA kernels are checked against.
// Each loop is built for AVX-512, AVX2 and the baseline (HL_SIMD_CLONES) and split over
// threads (kernels/cpu/parallel.h); sigmoid and tanh use the vectorisable
// kernels/cpu/vec_math.h instead of glibc's scalar calls.
#include "kernels/cpu/elementwise.h"

#include "kernels/cpu/parallel.h"
#include "kernels/cpu/vec_math.h"

namespace hl::cpu {

namespace {

HL_SIMD_CLONES void add_range(const float* a, const float* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}
HL_SIMD_CLONES void mul_range(const float* a, const float* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] * b[i];
}
HL_SIMD_CLONES void scale_range(const float* x, float alpha, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = alpha * x[i];
}
HL_SIMD_CLONES void relu_range(const float* x, float* y, int64_t n) {
  // PyTorch's relu propagates NaN: NaN <= 0 is false, so NaN passes through unchanged.
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] <= 0.0f ? 0.0f : x[i];
}
HL_SIMD_CLONES void sigmoid_range(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = vec::sigmoid(x[i]);
}
HL_SIMD_CLONES void tanh_range(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = vec::tanh(x[i]);
}

}  // namespace

void add_f32(const float* a, const float* b, float* y, int64_t n) {
  parallel_for(n, kElementwiseGrain, [&](int64_t i, int64_t e) { add_range(a + i, b + i, y + i, e - i); });
}

void mul_f32(const float* a, const float* b, float* y, int64_t n) {
  parallel_for(n, kElementwiseGrain, [&](int64_t i, int64_t e) { mul_range(a + i, b + i, y + i, e - i); });
}

void scale_f32(const float* x, float alpha, float* y, int64_t n) {
  parallel_for(n, kElementwiseGrain, [&](int64_t i, int64_t e) { scale_range(x + i, alpha, y + i, e - i); });
}

void relu_f32(const float* x, float* y, int64_t n) {
  parallel_for(n, kElementwiseGrain, [&](int64_t i, int64_t e) { relu_range(x + i, y + i, e - i); });
}

void sigmoid_f32(const float* x, float* y, int64_t n) {
  parallel_for(n, kElementwiseGrain, [&](int64_t i, int64_t e) { sigmoid_range(x + i, y + i, e - i); });
}

void tanh_f32(const float* x, float* y, int64_t n) {
  parallel_for(n, kElementwiseGrain, [&](int64_t i, int64_t e) { tanh_range(x + i, y + i, e - i); });
}

}  // namespace hl::cpu
