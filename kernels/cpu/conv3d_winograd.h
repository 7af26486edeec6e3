// The 3x3x3 stride-1 "SAME" 3-D convolution (most of the Multisensory network's work) by
// Winograd's F(m x m, 3x3) over height and width (m = 2 or 4), a sum of 3 products over depth.
//
// Same contract as conv3d_ndhwc_f32 (kernels/cpu/conv3d.h), which calls this when
// conv3d_winograd_applies(s): x [batch, d, h, w, c_in], w [3, 3, 3, c_in, c_out], bias
// [c_out] or null -> y [batch, d, h, w, c_out], zero padding of 1 on every side.
// Each m x m block of outputs (a "tile") comes from the t x t input patch around it
// (t = m + 2, P = t^2 "positions"): with V = B^T patch B and U = G g G^T per depth tap kt,
// channel pair,
//   y_tile = A^T (sum over kt, c_in of V[kt-th slice] (.) U[kt]) A
// where the sum over c_in is, for each of the P positions and 3 depth taps, a GEMM
// [depths x tiles, c_in] x [c_in, c_out] (OpenBLAS, accumulating over the taps).
// Multiply-adds per output: P x 3 x c_in x c_out / m^2, i.e. 12 (F(2x2)) or 6.75 (F(4x4))
// instead of 27 for im2col + GEMM, plus the transforms (Lavin & Gray 2016's matrices,
// written out in conv3d_winograd.cpp on 16-channel GCC vectors, AVX-512 clones where the
// CPU has it, a portable default otherwise). (One GEMM of depth 3 c_in per output depth,
// from V laid out with the depth slices adjacent, was measured slower.) Output depths are
// processed in chunks (the chunk's transformed inputs and M around 32 MiB) spread over
// the engine's threads. The chunking follows the thread count
// and OpenBLAS's blocking follows the GEMM's rows, so 1 and 2 threads can differ in the
// last bits (both within the bounds below).
// Which m: winograd_tile_for(s), F(4x4) where its GEMM work, 36 ceil(h/4) ceil(w/4)
// positions per slice, is below F(2x2)'s 16 ceil(h/2) ceil(w/2) (so F(2x2) only for
// heights and widths of a few pixels). bench/bench_conv3d.cpp times both on the
// Multisensory layers: F(4x4) is 1.2-1.9x faster than F(2x2) on all six, 14 x 14
// included (docs/benchmarks.md). Scratch kept per thread: V and M up to ~8M floats (32 MiB), plus
// U (up to 9.4 MiB at 512 -> 512 channels) on the thread that calls conv3d_winograd_f32.
//
// Prepared filters: U depends only on w, c_in, c_out and m, so a network transforms each
// filter once (prepare_winograd_filter) and runs conv3d_winograd_prepared_f32 per clip;
// conv3d_winograd_f32 prepares (into a per-thread scratch kept between calls) and runs,
// bit-identical to the prepared path. Optional ReLU fused into the output transform
// (prepared entry point only). A prepared filter fits
// any shape with the same c_in, c_out, height and width (batch and depth may differ);
// another shape is refused with hl::Error.
//
// Rounding: F(2x2)'s transforms only add, subtract and halve; F(4x4)'s constants (up to 5
// in B, 1/24 in G, 8 in A) amplify the worst-case rounding error by (48 / 8)^2 = 36
// relative to F(2x2) (the derivation is in tests/nets/test_conv3d_winograd.cpp, which
// bounds both against a double-precision direct sum); the full network stays within 1e-4
// of TensorFlow (tests/nets/test_multisensory_net.cpp).
//
// Tests: tests/nets/test_multisensory_ops.cpp (tf.nn.conv3d, odd sizes, batch 2),
// tests/nets/test_conv3d_winograd.cpp (against a double-precision direct sum, both m,
// prepared against unprepared, a wrong shape refused).
#pragma once
#include <vector>

#include "kernels/cpu/conv3d.h"

namespace hl::cpu {

bool conv3d_winograd_applies(const Conv3dShape& s);

// m of F(m x m, 3x3): 2 or 4.
enum class WinogradTile { Auto = 0, F2 = 2, F4 = 4 };
// The m conv3d_winograd_f32 uses for s (WinogradTile::F2 or F4).
WinogradTile winograd_tile_for(const Conv3dShape& s);

struct WinogradFilter {
  Conv3dShape shape;                    // the shape it was prepared for
  WinogradTile tile = WinogradTile::F2;  // F2 or F4
  std::vector<float> u;                 // [P][3][c_in][c_out], P = (m + 2)^2
};
// U for w [3, 3, 3, c_in, c_out]; tile Auto: winograd_tile_for(s). Throws hl::Error when
// conv3d_winograd_applies(s) is false or s is invalid.
WinogradFilter prepare_winograd_filter(const Conv3dShape& s, const float* w, WinogradTile tile = WinogradTile::Auto);
// y = conv(x, the filter f was prepared from) + bias, then max(., 0) when relu. Throws
// hl::Error when s does not fit f (c_in, c_out, height, width and the kernel must match).
void conv3d_winograd_prepared_f32(const Conv3dShape& s, const WinogradFilter& f, const float* x, const float* bias,
                                  float* y, bool relu = false);
// prepare_winograd_filter(s, w) then conv3d_winograd_prepared_f32 (no ReLU).
void conv3d_winograd_f32(const Conv3dShape& s, const float* x, const float* w, const float* bias, float* y);

}  // namespace hl::cpu

// bench/bench_conv3d.cpp times the prepared entry point when this header declares it.
#define HL_CONV3D_WINOGRAD_PREPARED 1
