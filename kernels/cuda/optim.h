// CUDA version of kernels/cpu/optim.h: one Adam step (torch.optim.Adam v1.13 order of
// operations) over n f32 parameters in place. Bias corrections are computed on the host
// exactly as the CPU does; the per-element update uses explicitly rounded operations
// in the CPU's order, so it is meant to be bit-identical to kernels/cpu/optim.cpp.
// Tests: tests/cuda/test_cuda_autograd.cpp.
#pragma once
#include "kernels/cuda/stream.h"

#include <cstdint>

#include "kernels/cpu/optim.h"

namespace hl::cuda {

using cpu::AdamHyper;

void adam_step_f32(const AdamHyper& h, int64_t step, float* param, const float* grad, float* m, float* v, int64_t n,
                   cudaStream_t stream);

}  // namespace hl::cuda
