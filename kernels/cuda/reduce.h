// CUDA versions of kernels/cpu/reduce.h ([outer, n, inner] -> [outer, inner]).
// Tests: tests/cuda/test_cuda_kernels.cpp against kernels/cpu/reduce.cpp,
// tests/cuda/test_cuda_ops.cpp and tests/ops/test_op_table_cuda.cpp (sum and mean rows).
#pragma once
#include "kernels/cuda/stream.h"

#include <cstdint>

namespace hl::cuda {

void sum_dim_f32(const float* x, float* y, int64_t outer, int64_t n, int64_t inner, cudaStream_t stream);
void mean_dim_f32(const float* x, float* y, int64_t outer, int64_t n, int64_t inner, cudaStream_t stream);
void max_dim_f32(const float* x, float* y, int64_t outer, int64_t n, int64_t inner, cudaStream_t stream);

}  // namespace hl::cuda
