// 1-D convolution over time, stride 1, 'same' padding, any kernel size k, templated on
// the element type. Layouts (Keras, channels last): x [batch, time, c_in],
// w [k, c_in, c_out], b [c_out], y [batch, time, c_out]. A PyTorch Conv1d weight
// [c_out, c_in, k] is w.permute(2, 1, 0), its input x.transpose(1, 2).
// Padding: k - 1 zeros in total, (k - 1) / 2 on the left and the rest on the right.
// For odd k that is Keras 'same' and PyTorch padding='same'; for even k it is PyTorch's
// 'same' (the extra zero on the right), which is also what TensorFlow does.
// Computed as im2col (cols [batch * time, k * c_in]) and one GEMM with w viewed as
// [k * c_in, c_out]; the backward pass is the transposed products and col2im.
// CUDA twin: kernels/cuda/conv1d.h.
// Tests: tests/ops/test_op_table.cpp, rows in tests/ops/rows_conv.cpp (double loops;
// finite differences in double); tests/autograd/test_autograd_golden.cpp (PyTorch
// F.conv1d padding='same'); on CUDA tests/ops/test_op_table_cuda.cpp and
// tests/cuda/test_cuda_autograd.cpp (column buffers poisoned too).
#pragma once
#include <cstdint>

namespace hl::cpu {

struct Conv1dShape {
  int64_t batch = 0, time = 0, c_in = 0, c_out = 0, k = 0;
  int64_t pad_left() const { return (k - 1) / 2; }
};

// b may be null.
template <typename T>
void conv1d_same_forward(const Conv1dShape& s, const T* x, const T* w, const T* b, T* y);
// dx, dw, db overwritten; any may be null.
template <typename T>
void conv1d_same_backward(const Conv1dShape& s, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db);

}  // namespace hl::cpu
