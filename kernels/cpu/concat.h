// Copies of slabs along one dimension, the data movement of concat and narrow (and of
// their backward passes). Tensors are viewed as [outer, n, inner] around the dimension;
// rows [src_start, src_start + len) of src [outer, src_n, inner] go to rows
// [dst_start, dst_start + len) of dst [outer, dst_n, inner]. Any element size (bytes).
// CUDA twin: kernels/cuda/concat.h.
// Tests: tests/ops/test_op_table.cpp, rows in tests/ops/rows_shape.cpp (concat, narrow:
// double loops; finite differences in double); tests/autograd/test_autograd_golden.cpp
// (PyTorch torch.cat / narrow); on CUDA tests/ops/test_op_table_cuda.cpp and
// tests/cuda/test_cuda_autograd.cpp (rows outside the slab untouched).
#pragma once
#include <cstddef>
#include <cstdint>

namespace hl::cpu {

void copy_slab(const void* src, int64_t src_n, int64_t src_start, void* dst, int64_t dst_n, int64_t dst_start,
               int64_t outer, int64_t len, int64_t inner, size_t element_size);

// nbytes zero bytes at dst (the twin of cuda::zero_fill, for gradients that start at 0).
void zero_fill(void* dst, size_t nbytes);

}  // namespace hl::cpu
