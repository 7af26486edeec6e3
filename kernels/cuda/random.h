// CUDA versions of kernels/cpu/random.h: uniform is bit-identical to the CPU, normal
// agrees to f32 rounding (both compute Box-Muller in double).
// Tests: tests/cuda/test_cuda_kernels.cpp against kernels/cpu/random.cpp,
// tests/cuda/test_cuda_ops.cpp (through hl::ops).
#pragma once
#include "kernels/cuda/stream.h"

#include <cstdint>

namespace hl::cuda {

void uniform_f32(uint64_t seed, uint64_t offset, float* y, int64_t n, float lo, float hi, cudaStream_t stream);
void normal_f32(uint64_t seed, uint64_t offset, float* y, int64_t n, float mean, float std, cudaStream_t stream);

}  // namespace hl::cuda
