// The 3x3x3 stride-1 "SAME" 3-D convolution (most of the Multisensory network's work) by
// Winograd's F(2x2, 3x3) over height and width, a sum of 3 products over depth.
//
// Same contract as conv3d_ndhwc_f32 (kernels/cpu/conv3d.h), which calls this when
// conv3d_winograd_applies(s): x [batch, d, h, w, c_in], w [3, 3, 3, c_in, c_out], bias
// [c_out] or null -> y [batch, d, h, w, c_out], zero padding of 1 on every side.
// Each 2x2 block of outputs (a "tile") comes from the 4x4 input patch around it: with
// V = B^T patch B and U = G g G^T per depth tap kt, channel pair (16 values each),
//   y_tile = A^T (sum over kt, c_in of V[kt-th slice] (.) U[kt]) A
// where the sum over c_in is, for each of the 16 positions, a GEMM [tiles, c_in] x
// [c_in, c_out] (OpenBLAS): per 4 outputs 16 x 3 x c_in multiply-adds instead of
// 4 x 27 x c_in, 2.25x fewer than im2col + GEMM, plus cheap transforms. Output depths
// are processed in chunks (the transformed inputs of a chunk and its 2 neighbour slices stay
// around 32 MiB) spread over the engine's threads.
// Rounding: the transforms only add, subtract and halve, so the result differs from the
// direct sum by a few f32 ulps of the largest partial sums (the ops test bounds it at 1e-5
// relative against tf.nn.conv3d; the full network stays within 1e-4 of TensorFlow).
//
// Tests: tests/nets/test_multisensory_ops.cpp (tf.nn.conv3d, odd sizes, batch 2),
// tests/nets/test_conv3d_winograd.cpp (against a double-precision direct sum).
#pragma once
#include "kernels/cpu/conv3d.h"

namespace hl::cpu {

bool conv3d_winograd_applies(const Conv3dShape& s);
void conv3d_winograd_f32(const Conv3dShape& s, const float* x, const float* w, const float* bias, float* y);

}  // namespace hl::cpu
