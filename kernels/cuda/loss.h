// CUDA versions of kernels/cpu/loss.h (f32): MSE, 1 - CCC (population moments) and the
// margin ranking loss, forward and backward. The scalar loss and its incoming gradient
// stay on the device (loss: one float written at `loss`; dloss: one float read from
// device memory), so nothing synchronises with the host. Moments and sums accumulate
// in double like the CPU, but in a tree order (one block of threads), so results match
// the CPU to f32 rounding rather than bit for bit.
// Tests: tests/ops/test_op_table_cuda.cpp (loss rows through hl::ag) against kernels/cpu/loss.cpp.
#pragma once
#include "kernels/cuda/stream.h"

#include <cstdint>

namespace hl::cuda {

void mse_forward(const float* p, const float* y, int64_t n, float* loss, cudaStream_t stream);
void mse_backward(const float* p, const float* y, int64_t n, const float* dloss, float* dp, cudaStream_t stream);

void ccc_loss_forward(const float* p, const float* y, int64_t n, float* loss, cudaStream_t stream);
void ccc_loss_backward(const float* p, const float* y, int64_t n, const float* dloss, float* dp,
                       cudaStream_t stream);

void margin_ranking_forward(const float* hi, const float* lo, int64_t n, float margin, float* loss,
                            cudaStream_t stream);
// dhi, dlo may be null.
void margin_ranking_backward(const float* hi, const float* lo, int64_t n, float margin, const float* dloss,
                             float* dhi, float* dlo, cudaStream_t stream);

}  // namespace hl::cuda
