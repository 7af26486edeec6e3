// 2-D pooling over channels-last activations, for the inference CNNs (GoogLeNet, ResNet50).
//
// maxpool2d_f32: x [batch, height, width, channels] (NHWC) -> y [batch, out_h, out_w,
// channels], PyTorch's F.max_pool2d (dilation 1) exactly:
//   out_h = floor((height + 2 pad_h - kh) / stride_h) + 1, or with ceil_mode the ceiling,
//           less one when that last window would start at or after height + pad_h (a
//           window must start inside the input or its left/top padding);
//   y[n, i, j, c] = max of x[n, y, x, c] over y in [i stride_h - pad_h, + kh) and
//                   x in [j stride_w - pad_w, + kw) clipped to the input.
// Padding is never a value (PyTorch pads with -inf); NaN wins, as in PyTorch's CPU kernel.
// PyTorch also requires pad <= kernel / 2, which validate() enforces, so no window is empty.
//
// global_avgpool_f32: x [batch, pixels, channels] -> y [batch, channels], the mean over
// the pixels (F.adaptive_avg_pool2d(x, 1) flattened).
//
// CUDA twin: maxpool2d_nhwc and global_avgpool_nhwc in kernels/cuda/cnn_ops.h.
// Tests: tests/nets/test_pool2d.cpp (torch F.max_pool2d with and without ceil_mode,
// F.adaptive_avg_pool2d, and output sizes computed independently in the test); on CUDA
// tests/cuda/test_cuda_cnn.cpp.
#pragma once
#include <cstdint>

namespace hl::cpu {

struct Pool2dShape {
  int64_t batch = 0, height = 0, width = 0, channels = 0;
  int64_t kh = 1, kw = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;  // on both sides
  bool ceil_mode = false;

  int64_t out_height() const;
  int64_t out_width() const;
  // Throws hl::Error (naming `op`) for non-positive sizes, kernels or strides, padding
  // outside [0, kernel / 2], or an output smaller than 1x1.
  void validate(const char* op) const;
};

void maxpool2d_f32(const Pool2dShape& s, const float* x, float* y);

void global_avgpool_f32(const float* x, float* y, int64_t batch, int64_t pixels, int64_t channels);

}  // namespace hl::cpu
