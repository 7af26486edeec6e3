// CUDA versions of kernels/cpu/linear.h (f32): dense layers (Keras layout x [rows, in],
// w [in, out], b [out]) and the backward pass of the batched matrix product. Products
// go through cuda::gemm_f32 (cuBLAS, full f32); the bias add is a separate pass after
// the product, as on the CPU; the bias gradient is cuda::sum_dim_f32 (double sums).
// Tests: tests/ops/test_op_table_cuda.cpp (linear and matmul rows through hl::ag) against
// kernels/cpu/linear.cpp.
#pragma once
#include "kernels/cuda/stream.h"

#include <cstdint>

#include "kernels/common/gemm_shape.h"

namespace hl::cuda {

// y [rows, out] = x w (+ b when b is not null).
void linear_forward(const float* x, const float* w, const float* b, float* y, int64_t rows, int64_t in, int64_t out,
                    cudaStream_t stream);
// y[r, j] += b[j] for y [rows, out].
void add_bias_f32(float* y, const float* b, int64_t rows, int64_t out, cudaStream_t stream);

// dx = dy w^T, dw = x^T dy, db = column sums of dy; each overwritten, null to skip.
void linear_backward(const float* x, const float* w, const float* dy, float* dx, float* dw, float* db, int64_t rows,
                     int64_t in, int64_t out, cudaStream_t stream);

// As cpu::matmul_backward: dA, dB of C = op(A) op(B) described by s (alpha 1, beta 0);
// with s.stride_b == 0 dB sums over the batch.
void matmul_backward(const GemmShape& s, const float* a, const float* b, const float* dc, float* da, float* db,
                     cudaStream_t stream);

}  // namespace hl::cuda
