// CUDA version of kernels/cpu/concat.h: rows [src_start, src_start + len) of
// src [outer, src_n, inner] to rows [dst_start, dst_start + len) of dst [outer, dst_n,
// inner], any element size; plus zero filling (the narrow backward's untouched rows).
// Tests: tests/cuda/test_cuda_autograd.cpp against kernels/cpu/concat.cpp (bit-exact),
// tests/ops/test_op_table_cuda.cpp (concat and narrow rows through hl::ag).
#pragma once
#include "kernels/cuda/stream.h"

#include <cstddef>
#include <cstdint>

namespace hl::cuda {

void copy_slab(const void* src, int64_t src_n, int64_t src_start, void* dst, int64_t dst_n, int64_t dst_start,
               int64_t outer, int64_t len, int64_t inner, size_t element_size, cudaStream_t stream);

// nbytes zero bytes at dst (0.0f for f32), on stream.
void zero_fill(void* dst, size_t nbytes, cudaStream_t stream);

}  // namespace hl::cuda
