// CUDA version of kernels/cpu/transpose.h (element sizes 1, 2, 4 and 8 bytes).
// Tests: tests/cuda/test_cuda_kernels.cpp against kernels/cpu/transpose.cpp,
// tests/cuda/test_cuda_ops.cpp (through hl::ops).
#pragma once
#include "kernels/cuda/stream.h"

#include <cstddef>
#include <cstdint>

namespace hl::cuda {

void transpose(const void* x, void* y, int64_t batch, int64_t rows, int64_t cols, size_t element_size,
               cudaStream_t stream);

}  // namespace hl::cuda
