// CPU kernels for Keras-style convolutional nets in NHWC (one image: [H, W, C] row-major)
// with Keras's "same"/"valid" padding (fer's mini-Xception, nets/mini_xception.h).
//
// Keras (TensorFlow) padding: "valid" -> out = (in - k) / s + 1, no padding; "same" ->
// out = ceil(in / s), pad_total = max((out - 1) * s + k - in, 0), of which
// pad_total / 2 goes before and the rest after (the extra row/column at the end).
// Max-pool ignores padded cells (they are -inf), as TensorFlow's does.
//
// Convs: im2col + a blocked multiply-add loop (1x1 stride-1 on the map itself), in the
// same order per output as a direct sum, so the same bits on every CPU and thread count.
// Tests: tests/kernels/test_separable_conv_gemm.cpp (conv and depthwise against a double
// direct sum on odd shapes), tests/nets/test_mini_xception.cpp (the net against Keras).
#pragma once
#include <cstdint>
#include <vector>

namespace hl::cpu {

struct KerasPad {
  int64_t out = 0, before = 0;
};
// Output size and leading padding of one spatial axis; throws hl::Error if the output
// would be empty.
KerasPad keras_pad(int64_t in, int64_t k, int64_t stride, bool same);

// Dense conv: x [h, w, cin], kernel HWIO [kh, kw, cin, cout], bias [cout] -> [oh, ow, cout].
void conv2d_nhwc(const float* x, int64_t h, int64_t w, int64_t cin, const float* kernel, int64_t kh, int64_t kw,
                 int64_t cout, const float* bias, int64_t sh, int64_t sw, bool same, float* y, int64_t oh, int64_t ow);

// Depthwise conv, depth multiplier 1: x [h, w, c], kernel [kh, kw, c, 1] -> [oh, ow, c].
void depthwise_conv2d_nhwc(const float* x, int64_t h, int64_t w, int64_t c, const float* kernel, int64_t kh, int64_t kw,
                           int64_t sh, int64_t sw, bool same, float* y, int64_t oh, int64_t ow);

// Max pool: x [h, w, c] -> [oh, ow, c].
void max_pool_nhwc(const float* x, int64_t h, int64_t w, int64_t c, int64_t ph, int64_t pw, int64_t sh, int64_t sw,
                   bool same, float* y, int64_t oh, int64_t ow);

}  // namespace hl::cpu
