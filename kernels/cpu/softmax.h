// Softmax over the middle dimension of x [outer, n, inner] (row-major), the layout of
// "softmax along dim d" once the dimensions before d are folded into outer and those
// after it into inner. Max-subtracted for range; sums in double.
// backward: dx = y * (dy - sum_j dy_j y_j), reading the forward output y.
// CUDA twin: kernels/cuda/softmax.h.
// Tests: tests/ops/test_op_table.cpp, rows in tests/ops/rows_norm.cpp (double loops;
// finite differences in double); tests/kernels/test_softmax_rows.cpp (the vectorised rows,
// -inf and NaN); tests/autograd/test_autograd_golden.cpp (PyTorch torch.softmax); on CUDA
// tests/ops/test_op_table_cuda.cpp.
#pragma once
#include <cstdint>

namespace hl::cpu {

template <typename T>
void softmax_forward(const T* x, T* y, int64_t outer, int64_t n, int64_t inner);
template <typename T>
void softmax_backward(const T* y, const T* dy, T* dx, int64_t outer, int64_t n, int64_t inner);

}  // namespace hl::cpu
