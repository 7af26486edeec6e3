// CUDA versions of kernels/cpu/reduce.h ([outer, n, inner] -> [outer, inner]).
#pragma once
#include "kernels/cuda/stream.h"

#include <cstdint>

namespace hl::cuda {

void sum_dim_f32(const float* x, float* y, int64_t outer, int64_t n, int64_t inner, cudaStream_t stream);
void mean_dim_f32(const float* x, float* y, int64_t outer, int64_t n, int64_t inner, cudaStream_t stream);
void max_dim_f32(const float* x, float* y, int64_t outer, int64_t n, int64_t inner, cudaStream_t stream);

}  // namespace hl::cuda
