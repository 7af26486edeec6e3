// CUDA version of kernels/cpu/conv2d.h (f32): 2-D convolution (cross-correlation),
// channels last, any stride and per-side zero padding. Layouts as on the CPU:
// x [batch, height, width, c_in] (NHWC), w [kh, kw, c_in, c_out] (HWIO), b [c_out],
// y [batch, out_h, out_w, c_out].
// im2col + the dense layer's cuBLAS kernels, as on the CPU; when im2col would copy x
// unchanged (Conv2dShape::im2col_is_identity: a 1x1 stride-1 kernel, or a kernel
// covering the whole unpadded input such as the CAM branch's 14x14 valid conv) the
// product reads x directly and no column buffer is needed. The caller provides the
// column buffer(s). col2im is a gather (one thread per element of dx) adding the
// windows in the CPU's order, so no atomics are needed.
// Tests: tests/cuda/test_cuda_conv2d.cpp against kernels/cpu/conv2d.cpp,
// tests/ops/test_op_table_cuda.cpp (conv2d rows through hl::ag).
#pragma once
#include "kernels/cuda/stream.h"

#include <cstdint>

#include "kernels/cpu/conv2d.h"

namespace hl::cuda {

using cpu::Conv2dShape;

// Floats of one column buffer: col_rows() * col_width(), or 0 when im2col is the
// identity (then the column pointers may be null).
inline int64_t conv2d_cols_size(const Conv2dShape& s) {
  return s.im2col_is_identity() ? 0 : s.col_rows() * s.col_width();
}

// b may be null. cols: conv2d_cols_size(s) floats of device scratch.
void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* b, float* y, float* cols,
                    cudaStream_t stream);
// dx, dw, db overwritten; any may be null. cols and dcols: conv2d_cols_size(s) floats
// each of device scratch (cols is used when dw is wanted, dcols when dx is).
void conv2d_backward(const Conv2dShape& s, const float* x, const float* w, const float* dy, float* dx, float* dw,
                     float* db, float* cols, float* dcols, cudaStream_t stream);

}  // namespace hl::cuda
