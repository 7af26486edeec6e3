// CUDA versions of kernels/cpu/act_grad.h (f32): the backward passes of the activations
// and of sum/mean along a dimension. Same formulas, element for element, as the CPU.
// Tests: tests/cuda/test_cuda_autograd.cpp against kernels/cpu/act_grad.cpp (bit for bit),
// tests/ops/test_op_table_cuda.cpp (activation, sum and mean rows through hl::ag).
#pragma once
#include "kernels/cuda/stream.h"

#include <cstdint>

#include "kernels/cpu/act_grad.h"

namespace hl::cuda {

using cpu::Activation;

// dx = dy * f'(x), from the forward output y alone (as kernels/cpu/act_grad.h).
void activation_backward(Activation kind, const float* y, const float* dy, float* dx, int64_t n, cudaStream_t stream);

// dx[o, j, i] = alpha * dy[o, i] for j in [0, n).
void broadcast_middle(const float* dy, float* dx, int64_t outer, int64_t n, int64_t inner, float alpha,
                      cudaStream_t stream);

}  // namespace hl::cuda
