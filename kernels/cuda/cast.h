// CUDA versions of kernels/cpu/cast.h, bit-identical (same scalar code, kernels/common/half.h).
// Tests: tests/cuda/test_cuda_kernels.cpp (every 16-bit pattern, every rounding boundary),
// tests/cuda/test_cuda_ops.cpp (casts through Tensor).
#pragma once
#include "kernels/cuda/stream.h"

#include <cstdint>

namespace hl::cuda {

void f32_to_f16(const float* x, uint16_t* y, int64_t n, cudaStream_t stream);
void f16_to_f32(const uint16_t* x, float* y, int64_t n, cudaStream_t stream);
void f32_to_bf16(const float* x, uint16_t* y, int64_t n, cudaStream_t stream);
void bf16_to_f32(const uint16_t* x, float* y, int64_t n, cudaStream_t stream);
void i32_to_f32(const int32_t* x, float* y, int64_t n, cudaStream_t stream);
void i64_to_f32(const int64_t* x, float* y, int64_t n, cudaStream_t stream);
void u8_to_f32(const uint8_t* x, float* y, int64_t n, cudaStream_t stream);

}  // namespace hl::cuda
