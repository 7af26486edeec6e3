// Batched transpose of the last two dimensions: x [batch, rows, cols] -> y [batch, cols, rows].
// Works on any element size (bytes); y must not alias x.
// CUDA twin: kernels/cuda/transpose.h.
// Tests: tests/kernels/test_cpu_kernels.cpp (index arithmetic for every element size),
// tests/kernels/test_kernels_golden.cpp (PyTorch); on CUDA tests/cuda/test_cuda_kernels.cpp.
#pragma once
#include <cstddef>
#include <cstdint>

namespace hl::cpu {

void transpose(const void* x, void* y, int64_t batch, int64_t rows, int64_t cols, size_t element_size);

}  // namespace hl::cpu
