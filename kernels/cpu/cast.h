// Element type conversions (round to nearest even), see kernels/common/half.h.
// CUDA twin: kernels/cuda/cast.h.
// Tests: tests/kernels/test_cpu_kernels.cpp (every f16 bit pattern by the IEEE definition,
// rounding to nearest even), tests/kernels/test_kernels_golden.cpp (PyTorch's
// .half()/.bfloat16() bit for bit); on CUDA tests/cuda/test_cuda_kernels.cpp.
#pragma once
#include <cstdint>

namespace hl::cpu {

void f32_to_f16(const float* x, uint16_t* y, int64_t n);
void f16_to_f32(const uint16_t* x, float* y, int64_t n);
void f32_to_bf16(const float* x, uint16_t* y, int64_t n);
void bf16_to_f32(const uint16_t* x, float* y, int64_t n);
void i32_to_f32(const int32_t* x, float* y, int64_t n);
void i64_to_f32(const int64_t* x, float* y, int64_t n);
void u8_to_f32(const uint8_t* x, float* y, int64_t n);

}  // namespace hl::cpu
