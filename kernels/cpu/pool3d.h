// 3-D max pooling over channels-last activations with TensorFlow's padding rules
// (tf.nn.max_pool3d; the Multisensory network's pool after im/conv1, [1, 3, 3] stride
// [1, 2, 2] "SAME", and the audio pool [4, 1] stride [4, 1] "VALID" read with depth 1).
//
// maxpool3d_ndhwc_f32: x [batch, depth, height, width, channels] -> y [batch, out_d,
// out_h, out_w, channels], sizes and leading pads from tf_padding (kernels/cpu/conv3d.h);
// y = the max over the window's elements inside the input (TensorFlow never lets the
// padding win; every SAME window holds at least one input element; a NaN wins). Output
// planes (n, out_d) are spread over the engine's threads (kernels/cpu/parallel.h).
//
// Tests: tests/nets/test_multisensory_ops.cpp (tf.nn.max_pool3d, tf.nn.max_pool2d).
#pragma once
#include <cstdint>

#include "kernels/cpu/conv3d.h"

namespace hl::cpu {

struct Pool3dShape {
  int64_t batch = 0, depth = 0, height = 0, width = 0, channels = 0;
  int64_t kd = 1, kh = 1, kw = 1;
  int64_t sd = 1, sh = 1, sw = 1;
  bool same = true;

  TfPadding pad_d() const { return tf_padding(depth, kd, sd, same); }
  TfPadding pad_h() const { return tf_padding(height, kh, sh, same); }
  TfPadding pad_w() const { return tf_padding(width, kw, sw, same); }
};

void maxpool3d_ndhwc_f32(const Pool3dShape& s, const float* x, float* y);

}  // namespace hl::cpu
