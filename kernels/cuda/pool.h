// CUDA version of kernels/cpu/pool.h (f32): max pooling over time, window 2, stride 2,
// x [batch, time, channels] -> y [batch, time / 2, channels]; ties and the gradient go
// to the first of the pair, NaN wins. Tests: tests/cuda/test_cuda_autograd.cpp (bit-exact,
// ties), tests/ops/test_op_table_cuda.cpp (maxpool rows through hl::ag).
#pragma once
#include "kernels/cuda/stream.h"

#include <cstdint>

namespace hl::cuda {

void maxpool1d_2_forward(const float* x, float* y, int64_t batch, int64_t time, int64_t channels,
                         cudaStream_t stream);
// dx is overwritten (zeros where no gradient goes, including a dropped odd last step).
void maxpool1d_2_backward(const float* x, const float* dy, float* dx, int64_t batch, int64_t time, int64_t channels,
                          cudaStream_t stream);

}  // namespace hl::cuda
