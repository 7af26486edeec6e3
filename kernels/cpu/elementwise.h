// Elementwise f32 ops over n contiguous elements. y may alias an input.
// Tests: against double-precision formulas in tests/kernels/test_cpu_kernels.cpp.
#pragma once
#include <cstdint>

namespace hl::cpu {

void add_f32(const float* a, const float* b, float* y, int64_t n);
void mul_f32(const float* a, const float* b, float* y, int64_t n);
void scale_f32(const float* x, float alpha, float* y, int64_t n);  // y = alpha * x
void relu_f32(const float* x, float* y, int64_t n);
void sigmoid_f32(const float* x, float* y, int64_t n);
void tanh_f32(const float* x, float* y, int64_t n);

}  // namespace hl::cpu
