// CUDA version of kernels/cpu/softmax.h (f32): softmax over the middle dimension of
// x [outer, n, inner], max-subtracted, sums in double; backward reads the output y.
// Tests: tests/ops/test_op_table_cuda.cpp (softmax rows through hl::ag) against
// kernels/cpu/softmax.cpp.
#pragma once
#include "kernels/cuda/stream.h"

#include <cstdint>

namespace hl::cuda {

void softmax_forward(const float* x, float* y, int64_t outer, int64_t n, int64_t inner, cudaStream_t stream);
void softmax_backward(const float* y, const float* dy, float* dx, int64_t outer, int64_t n, int64_t inner,
                      cudaStream_t stream);

}  // namespace hl::cuda
