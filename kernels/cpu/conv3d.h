// 3-D convolution over channels-last activations with TensorFlow's padding rules, for the
// Multisensory network (specs/multisensory.md; tf.nn.conv3d).
//
// conv3d_ndhwc_f32: x [batch, depth, height, width, c_in] (NDHWC), w [kd, kh, kw, c_in,
// c_out] (TensorFlow's layout), bias [c_out] or null -> y [batch, out_d, out_h, out_w,
// c_out], per axis with stride s and kernel k:
//   "SAME":  out = ceil(in / s), pad_total = max((out - 1) s + k - in, 0),
//            pad_before = floor(pad_total / 2): the odd pad goes at the END (PyTorch pads
//            both sides equally), padding is zeros;
//   "VALID": out = floor((in - k) / s) + 1, no padding.
//   y[n, o, c] = bias[c] + sum over taps t inside the input of x[n, o s - pad_before + t, i] w[t, i, c].
// Computed as im2col + GEMM: chunks of output positions (~16 MiB of patches each) are
// gathered into a [positions, kd kh kw c_in] matrix (padding taps 0) and multiplied by w
// seen as [kd kh kw c_in, c_out] (OpenBLAS, kernels/cpu/gemm.h); the chunks are spread
// over the engine's threads (kernels/cpu/parallel.h). A 1x1x1 stride-1 conv multiplies x
// itself. Two fast paths are tried first, in this order:
//   - a 3x3x3 stride-1 SAME kernel goes to Winograd (kernels/cpu/conv3d_winograd.h;
//     conv3d_winograd_applies);
//   - on a CPU with AVX-512F, c_out a multiple of 16, a kernel larger than 1x1x1 with
//     c_in <= 8, or with a stride above 1 and at most 512 KiB of weights per 64 output
//     channels (the video stem im.conv1, im.conv2_2_1, the sound convs along time; not
//     im.conv4_1_1, where im2col + GEMM is as fast), goes to a direct register-tiled
//     kernel (kernels/cpu/conv3d_direct.h; conv3d_direct_applies): no im2col copy.
// Everything else (and every shape on a CPU without AVX-512F) is im2col + GEMM
// (conv3d_im2col_f32). Full-size Multisensory clip: see docs/benchmarks.md.
// TensorFlow's 2-D convs along time ([B, N, 1, C] with a [k, 1] kernel, the audio half)
// are this with depth 1: the same memory read as [B, 1, N, 1, C] and [1, k, 1, c_in, c_out].
//
// Tests: tests/nets/test_multisensory_ops.cpp (tf.nn.conv3d and tf.nn.conv2d outputs in
// tests/nets/multisensory_fixtures/ops.json; the padding rule by hand),
// tests/nets/test_conv3d_direct.cpp (the direct path and the generic one against a
// double-precision direct sum).
#pragma once
#include <cstdint>

namespace hl::cpu {

struct TfPadding {
  int64_t out = 0;         // output size
  int64_t pad_before = 0;  // zeros before the first input element (the rest go after the last)
};
// TensorFlow's output size and leading pad along one axis ("SAME" when `same`, else
// "VALID"). Throws hl::Error for non-positive sizes or an input shorter than a VALID kernel.
TfPadding tf_padding(int64_t in, int64_t kernel, int64_t stride, bool same);

struct Conv3dShape {
  int64_t batch = 0, depth = 0, height = 0, width = 0, c_in = 0, c_out = 0;
  int64_t kd = 1, kh = 1, kw = 1;
  int64_t sd = 1, sh = 1, sw = 1;
  bool same = true;  // TensorFlow "SAME", else "VALID"

  TfPadding pad_d() const { return tf_padding(depth, kd, sd, same); }
  TfPadding pad_h() const { return tf_padding(height, kh, sh, same); }
  TfPadding pad_w() const { return tf_padding(width, kw, sw, same); }
  // Throws hl::Error (naming `op`) for non-positive sizes, kernels or strides.
  void validate(const char* op) const;
};

void conv3d_ndhwc_f32(const Conv3dShape& s, const float* x, const float* w, const float* bias, float* y);
// The generic path alone (im2col + GEMM, any shape): what conv3d_ndhwc_f32 runs when
// neither fast path applies; public for the tests and benchmarks that compare with it.
void conv3d_im2col_f32(const Conv3dShape& s, const float* x, const float* w, const float* bias, float* y);

}  // namespace hl::cpu
