// CUDA version of kernels/cpu/conv1d.h (f32): 1-D convolution over time, stride 1,
// 'same' padding ((k - 1) / 2 zeros on the left, the rest on the right), Keras layouts
// x [batch, time, c_in], w [k, c_in, c_out], b [c_out], y [batch, time, c_out].
// im2col + cuBLAS, as on the CPU; the caller provides the column buffer(s).
// Tests: tests/cuda/test_cuda_autograd.cpp against kernels/cpu/conv1d.cpp,
// tests/ops/test_op_table_cuda.cpp (conv1d rows through hl::ag).
#pragma once
#include "kernels/cuda/stream.h"

#include <cstdint>

#include "kernels/cpu/conv1d.h"

namespace hl::cuda {

using cpu::Conv1dShape;

// Floats of one column buffer: batch * time * k * c_in.
inline int64_t conv1d_cols_size(const Conv1dShape& s) { return s.batch * s.time * s.k * s.c_in; }

// b may be null. cols: conv1d_cols_size(s) floats of device scratch.
void conv1d_same_forward(const Conv1dShape& s, const float* x, const float* w, const float* b, float* y,
                         float* cols, cudaStream_t stream);
// dx, dw, db overwritten; any may be null. cols and dcols: conv1d_cols_size(s) floats
// each of device scratch (cols is used when dw is wanted, dcols when dx is).
void conv1d_same_backward(const Conv1dShape& s, const float* x, const float* w, const float* dy, float* dx,
                          float* dw, float* db, float* cols, float* dcols, cudaStream_t stream);

}  // namespace hl::cuda
