// Dense layers and the backward pass of the (batched) matrix product, templated on the
// element type; the products go through gemm() (OpenBLAS sgemm / dgemm).
//
// Layout (Keras): x [rows, in] (any leading dimensions folded into rows), W [in, out],
// b [out]; y [rows, out] = x W + b. A PyTorch nn.Linear weight is W^T.
// CUDA twin: kernels/cuda/linear.h.
// Tests: tests/ops/test_op_table.cpp, rows in tests/ops/rows_dense.cpp (linear, matmul:
// double loops; finite differences in double); tests/autograd/test_autograd_golden.cpp
// (PyTorch F.linear and matmul); on CUDA tests/ops/test_op_table_cuda.cpp.
#pragma once
#include <cstdint>

#include "kernels/common/gemm_shape.h"

namespace hl::cpu {

// b may be null (no bias).
template <typename T>
void linear_forward(const T* x, const T* w, const T* b, T* y, int64_t rows, int64_t in, int64_t out);

// dx [rows, in] = dy W^T, dw [in, out] = x^T dy, db [out] = sum over rows of dy.
// Each output is overwritten, not accumulated; pass null for any that is not needed.
template <typename T>
void linear_backward(const T* x, const T* w, const T* dy, T* dx, T* dw, T* db, int64_t rows, int64_t in, int64_t out);

// For C = op(A) op(B) as described by s (alpha 1, beta 0): dA and dB (null to skip),
// stored like A and B. When s.stride_b == 0 (one B shared by the batch) dB is the sum
// over the batch entries.
template <typename T>
void matmul_backward(const GemmShape& s, const T* a, const T* b, const T* dc, T* da, T* db);

}  // namespace hl::cpu
