// Elementwise f32 ops over n contiguous elements. y may alias an input.
// CUDA twin: kernels/cuda/elementwise.h.
// Tests: tests/kernels/test_cpu_kernels.cpp (double-precision formulas, extremes),
// tests/kernels/test_kernels_golden.cpp (PyTorch), tests/ops/test_op_table.cpp (rows in
// tests/ops/rows_elementwise.cpp, through hl::ag); on CUDA tests/cuda/test_cuda_kernels.cpp,
// tests/cuda/test_cuda_ops.cpp and tests/ops/test_op_table_cuda.cpp.
#pragma once
#include <cstdint>

namespace hl::cpu {

void add_f32(const float* a, const float* b, float* y, int64_t n);
void mul_f32(const float* a, const float* b, float* y, int64_t n);
void scale_f32(const float* x, float alpha, float* y, int64_t n);  // y = alpha * x
void relu_f32(const float* x, float* y, int64_t n);
void sigmoid_f32(const float* x, float* y, int64_t n);
void tanh_f32(const float* x, float* y, int64_t n);

}  // namespace hl::cpu
