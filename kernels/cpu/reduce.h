// Reductions along one dimension. The input is viewed as [outer, n, inner] (row-major)
// and reduced over n into [outer, inner]. n must be >= 1 for max.
// Sums accumulate in double so that long reductions stay within 1e-6 of the exact value;
// row sums (inner == 1) on AVX-512 first add 4 floats per lane in float: the error is at
// most 2^-23 sum|x| + 2^-24 |sum| (plus ~n 2^-56 sum|x| from the double adds), whatever
// the length (reduce.cpp; tests/kernels/test_row_sum_accuracy.cpp checks it against an
// exact sum on long, wide-range and cancelling rows). The outer slices are split over
// the engine's threads (kernels/cpu/parallel.h): the same bits with any thread count.
// CUDA twin: kernels/cuda/reduce.h.
// Tests: tests/kernels/test_cpu_kernels.cpp (double loops, every position, NaN),
// tests/kernels/test_reduce_threads.cpp (1 vs 2 threads, double loops),
// tests/kernels/test_row_sum_accuracy.cpp (the row sums' bound, exact references),
// tests/kernels/test_kernels_golden.cpp (PyTorch), tests/ops/test_op_table.cpp (sum and
// mean rows in tests/ops/rows_shape.cpp); on CUDA tests/cuda/test_cuda_kernels.cpp,
// tests/cuda/test_cuda_ops.cpp and tests/ops/test_op_table_cuda.cpp.
#pragma once
#include <cstdint>

namespace hl::cpu {

void sum_dim_f32(const float* x, float* y, int64_t outer, int64_t n, int64_t inner);
void mean_dim_f32(const float* x, float* y, int64_t outer, int64_t n, int64_t inner);
void max_dim_f32(const float* x, float* y, int64_t outer, int64_t n, int64_t inner);  // NaN wins

}  // namespace hl::cpu
