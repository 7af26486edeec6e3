// CUDA version of kernels/cpu/dropout.h (f32): inverted dropout masks from Philox
// stream words (offset + i) of seed, bit-identical to the CPU's for the same
// (seed, offset, p). Tests: tests/cuda/test_cuda_autograd.cpp (bit-exact),
// tests/ops/test_op_table_cuda.cpp (dropout and BiLSTM rows through hl::ag).
#pragma once
#include "kernels/cuda/stream.h"

#include <cstdint>

namespace hl::cuda {

void dropout_mask(uint64_t seed, uint64_t offset, float p, float* mask, int64_t n, cudaStream_t stream);

}  // namespace hl::cuda
