// CUDA versions of kernels/cpu/elementwise.h: same functions, same results (to f32
// rounding of the transcendental functions), launched on `stream`.
// Tests: tests/cuda/test_cuda_kernels.cpp against the CPU kernels, tests/cuda/test_cuda_ops.cpp
// and tests/ops/test_op_table_cuda.cpp (through hl::ops and hl::ag).
#pragma once
#include "kernels/cuda/stream.h"

#include <cstdint>

namespace hl::cuda {

void add_f32(const float* a, const float* b, float* y, int64_t n, cudaStream_t stream);
void mul_f32(const float* a, const float* b, float* y, int64_t n, cudaStream_t stream);
void scale_f32(const float* x, float alpha, float* y, int64_t n, cudaStream_t stream);
void relu_f32(const float* x, float* y, int64_t n, cudaStream_t stream);
void sigmoid_f32(const float* x, float* y, int64_t n, cudaStream_t stream);
void tanh_f32(const float* x, float* y, int64_t n, cudaStream_t stream);

}  // namespace hl::cuda
