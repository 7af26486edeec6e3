// 1-D convolution over time, stride 1, 'same' padding, any kernel size k, templated on
// the element type. Layouts (Keras, channels last): x [batch, time, c_in],
// w [k, c_in, c_out], b [c_out], y [batch, time, c_out]. A PyTorch Conv1d weight
// [c_out, c_in, k] is w.permute(2, 1, 0), its input x.transpose(1, 2).
// Padding: k - 1 zeros in total, (k - 1) / 2 on the left and the rest on the right.
// For odd k that is Keras 'same' and PyTorch padding='same'; for even k it is PyTorch's
// 'same' (the extra zero on the right), which is also what TensorFlow does.
// Computed as im2col (cols [batch * time, k * c_in]) and one GEMM with w viewed as
// [k * c_in, c_out]; the backward pass is the transposed products and col2im.
// Tests: tests/autograd (finite differences in double; PyTorch F.conv1d padding='same').
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
