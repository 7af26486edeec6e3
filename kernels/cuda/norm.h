// CUDA version of kernels/cpu/norm.h (f32): layer normalisation over the last dimension
// of x [rows, n], Standard (PyTorch: eps inside the sqrt of the population variance)
// and VasnetStd (eps added to the unbiased std, n >= 2). Row statistics in double, as
// on the CPU. Tests: tests/ops/test_op_table_cuda.cpp (layer norm rows through hl::ag)
// against kernels/cpu/norm.cpp.
#pragma once
#include "kernels/cuda/stream.h"

#include <cstddef>
#include <cstdint>

#include "kernels/cpu/norm.h"

namespace hl::cuda {

using cpu::LayerNormKind;

void layer_norm_forward(LayerNormKind kind, const float* x, const float* g, const float* b, float* y, int64_t rows,
                        int64_t n, float eps, cudaStream_t stream);

// Bytes of device workspace layer_norm_backward needs (the per-row statistics).
inline size_t layer_norm_backward_workspace(int64_t rows) {
  return static_cast<size_t>(rows > 0 ? rows : 0) * 3 * sizeof(double);
}

// dx, dg, db overwritten; any may be null. workspace: layer_norm_backward_workspace(rows)
// bytes of device memory, 8-byte aligned.
void layer_norm_backward(LayerNormKind kind, const float* x, const float* g, const float* dy, float* dx, float* dg,
                         float* db, int64_t rows, int64_t n, float eps, void* workspace, cudaStream_t stream);

}  // namespace hl::cuda
