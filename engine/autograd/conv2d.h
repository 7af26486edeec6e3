// Differentiable 2-D convolution, channels last (Keras/TensorFlow layouts; the kernel
// and its layouts are described in kernels/cpu/conv2d.h).
#pragma once
#include <cstdint>

#include "engine/autograd/variable.h"

namespace hl::ag {

// Stride and zero padding of a 2-D convolution. The default is stride 1 and 'valid'
// (no padding); padding may differ on each side.
struct Conv2dOptions {
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;

  // The same stride and padding in both directions and on every side (PyTorch's
  // Conv2d(stride=s, padding=p)).
  static Conv2dOptions symmetric(int64_t stride, int64_t pad) { return {stride, stride, pad, pad, pad, pad}; }
};

// x [batch, height, width, c_in], w [kh, kw, c_in, c_out], b [c_out] (or an undefined
// Variable for no bias) -> y [batch, out_h, out_w, c_out].
Variable conv2d(const Variable& x, const Variable& w, const Variable& b, const Conv2dOptions& o = {});

}  // namespace hl::ag
