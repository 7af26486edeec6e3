// Element type conversions (round to nearest even), see kernels/common/half.h.
// Tests: every f16 bit pattern and random f32 values against PyTorch's .half()/.bfloat16().
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
