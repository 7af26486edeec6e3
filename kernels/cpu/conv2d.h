// 2-D convolution (cross-correlation, as every framework computes it), general stride
// and zero padding, templated on the element type.
// Layouts (Keras/TensorFlow, channels last): x [batch, height, width, c_in] (NHWC),
// w [kh, kw, c_in, c_out] (HWIO), b [c_out], y [batch, out_h, out_w, c_out] with
//   out_h = (height + pad_top + pad_bottom - kh) / stride_h + 1   (floor), same for w.
//   y[n, i, j, o] = b[o] + sum_{p, q, c} x[n, i*stride_h + p - pad_top, j*stride_w + q - pad_left, c] w[p, q, c, o]
// Padding may be asymmetric (TensorFlow's 'same' with an even total puts the extra zero
// at the bottom/right). A PyTorch Conv2d weight [c_out, c_in, kh, kw] is
// w.permute(3, 2, 0, 1); its input is x.permute(0, 3, 1, 2).
// Computed as im2col (cols [batch * out_h * out_w, kh * kw * c_in], a column's order
// matching w viewed as [kh * kw * c_in, c_out]) and one GEMM; the backward pass is the
// transposed products and col2im. When the windows tile the input exactly as it is
// stored (1x1 kernel with stride 1, or a kernel covering the whole unpadded input, as in
// the highlight model's CAM branch), cols would be a copy of x and is skipped.
// CUDA twin: kernels/cuda/conv2d.h.
// Tests: tests/ops/test_op_table.cpp, rows in tests/ops/rows_conv.cpp (a direct
// convolution in double; finite differences in double); tests/autograd/test_conv2d.cpp
// (the wrapper's shapes and errors); tests/autograd/test_conv2d_golden.cpp (PyTorch
// F.conv2d with layout permutes); on CUDA tests/ops/test_op_table_cuda.cpp and
// tests/cuda/test_cuda_conv2d.cpp (scratch buffers poisoned too).
#pragma once
#include <cstdint>

namespace hl::cpu {

struct Conv2dShape {
  int64_t batch = 0, height = 0, width = 0, c_in = 0, c_out = 0;
  int64_t kh = 1, kw = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;

  int64_t out_height() const { return (height + pad_top + pad_bottom - kh) / stride_h + 1; }
  int64_t out_width() const { return (width + pad_left + pad_right - kw) / stride_w + 1; }
  // Rows and width of the im2col matrix.
  int64_t col_rows() const { return batch * out_height() * out_width(); }
  int64_t col_width() const { return kh * kw * c_in; }
  // True when the im2col matrix would equal x itself (see the header comment).
  bool im2col_is_identity() const;
  // Throws hl::Error (naming `op`) for non-positive sizes or strides, negative padding,
  // or a kernel larger than the padded input.
  void validate(const char* op) const;
};

// b may be null.
template <typename T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* w, const T* b, T* y);
// dx, dw, db overwritten; any may be null.
template <typename T>
void conv2d_backward(const Conv2dShape& s, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db);

}  // namespace hl::cpu
