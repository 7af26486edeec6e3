// A direct (no im2col) AVX-512 3-D convolution for the Multisensory network's convs that
// im2col + GEMM serves badly: the video stem im.conv1 (3 input channels, 5x7x7 kernel,
// stride 2: im2col wrote a 735-float row per output), the strided 3x3x3 convs and the
// sound convs along time (TensorFlow [B, N, 1, C] with a [k, 1] kernel, stride 4).
//
// Same contract as conv3d_ndhwc_f32 (kernels/cpu/conv3d.h), which calls this when
// conv3d_direct_applies(s): x [batch, d, h, w, c_in] (NDHWC), w [kd, kh, kw, c_in, c_out]
// (TensorFlow's layout), bias [c_out] or null -> y [batch, out_d, out_h, out_w, c_out],
// TensorFlow "SAME" or "VALID" padding (tf_padding; the odd pad at the END).
//
// How: one task = one output row (n, od, oh) and a run of up to 240 output columns. The
// task copies the input rows its kernel reaches (only the (td, th) taps that fall inside
// the input: depth and height padding is skipped, not multiplied) into a buffer padded
// with zeros along width, so every output column reads the same kw * c_in contiguous
// floats per row at a fixed stride. A register tile then holds R output columns x NV
// vectors of 16 output channels (6 x 64 channels, 24 zmm accumulators): per tap
// (td, th, tw, ci) it loads NV weight vectors (w's c_out row as stored) and broadcasts R
// inputs, R * NV fused multiply-adds. The bias starts the sums; no ReLU (the caller's).
// Tasks are spread over the engine's threads (kernels/cpu/parallel.h).
// A [.., N, 1, C] input with a [k, 1] kernel (width 1, kw 1) is read as [.., 1, N, C]
// with a [1, k] kernel (the same memory), so the long time axis becomes the column axis.
//
// Rounding: the same products as the direct sum, added in another order (per tap row,
// f32 fused multiply-adds): within a few f32 ulps of the magnitude of the sum.
// Needs AVX-512F (checked at run time): without it conv3d_direct_applies is false and
// conv3d_ndhwc_f32 keeps im2col + GEMM. c_out must be a multiple of 16.
//
// Tests: tests/nets/test_conv3d_direct.cpp (against a double-precision direct sum from
// TensorFlow's SAME rule), tests/nets/test_multisensory_ops.cpp (tf.nn.conv3d/conv2d).
#pragma once
#include "kernels/cpu/conv3d.h"

namespace hl::cpu {

// True when this CPU has AVX-512F (the kernel's only requirement besides the shape).
bool conv3d_direct_supported();
// True when conv3d_ndhwc_f32 should take the direct kernel for `s`: supported, c_out a
// multiple of 16, not a 1x1x1 kernel, and a shape where it beat im2col + GEMM (measured
// in bench/bench_conv3d_direct.cpp): few input channels (c_in <= 8), or a stride above 1
// with a block of 64 output channels' weights (kd kh kw c_in x 64 floats) within 512 KiB,
// so that it stays in L2.
bool conv3d_direct_applies(const Conv3dShape& s);
// The kernel itself, for any valid shape with c_out % 16 == 0 on an AVX-512F CPU (throws
// hl::Error otherwise).
void conv3d_direct_f32(const Conv3dShape& s, const float* x, const float* w, const float* bias, float* y);

}  // namespace hl::cpu
