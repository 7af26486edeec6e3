// The elementwise, pooling and reduction kernels of the Multisensory network on CUDA
// (nets/multisensory_cuda.h), around the 3-D convolutions cuDNN does
// (kernels/cuda/cudnn_conv3d.h). Activations are channels last ([d, h, w, c] per clip,
// NDHWC with batch 1; the sound path is [1, n, 1, c]), in f32 or f16 (CnnDType; f16 as
// uint16_t bits); every kernel computes in f32 and rounds once when it stores an f16.
// Each is the twin of a CPU function, which is its specification:
//
//   pad_end_ndhwc        x [n, d, h, w, c] -> y [n, d + ed, h + eh, w + ew, c], x at the
//                        start of each axis, zeros after: the extra end pad of TensorFlow
//                        "SAME" that cuDNN's symmetric padding cannot give (cudnn_conv3d.h)
//   maxpool3d_ndhwc      cpu::maxpool3d_ndhwc_f32 (kernels/cpu/pool3d.h), TF padding
//   fractional_maxpool_rows  cpu::fractional_maxpool_rows_f32 (kernels/cpu/fractional_pool.h),
//                        the windows computed on the host by cpu::multisensory_pool_boundaries
//   mu_law_compand       cpu::mu_law_compand_f32: f32 samples in, activations out
//   tile_concat          merge()'s tiling and concatenation (nets/multisensory.cpp):
//                        net[p] = [im[p] (ci), sound[t(p)] (cs)], short[p] = [net[p][:half],
//                        net[p][ci + cs - half:]], t(p) = p / positions_per_step
//   conv3d_epilogue      y[r, c] = act((y[r, c] + bias[c] + residual[r, c]) * scale[c] +
//                        shift[c]) in place: the conv's bias and ReLU, or a block's sum
//                        with its shortcut and its stand-alone BatchNorm + ReLU
//   pointwise_logits     y[p] = bias + sum_c x[p, c] w[c] in f32: joint/logits (a 1x1x1
//                        conv with one output) at every position, i.e. the CAM; a GEMV
//   channel_mean         y[c] = (sum over p in order, in double, of x[p, c]) / positions,
//                        as the CPU's mean before the logit
//
// Tests: tests/cuda/test_cuda_multisensory_ops.cpp against the CPU functions, outputs
// NaN-poisoned.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>
#include <vector>

#include "kernels/cpu/pool3d.h"
#include "kernels/cuda/cnn_ops.h"

namespace hl::cuda {

struct PadEndShape {
  int64_t batch = 1, depth = 0, height = 0, width = 0, channels = 0;
  int64_t extra_d = 0, extra_h = 0, extra_w = 0;  // zeros appended along each axis
};
void pad_end_ndhwc(CnnDType t, const PadEndShape& s, const void* x, void* y, cudaStream_t stream);

void maxpool3d_ndhwc(CnnDType t, const cpu::Pool3dShape& s, const void* x, void* y, cudaStream_t stream);

// Throws hl::Error for boundaries that do not run from 0 to rows strictly increasing, or
// more than 256 windows.
void fractional_maxpool_rows(CnnDType t, int64_t batch, int64_t rows, int64_t width, int64_t channels,
                             const std::vector<int64_t>& boundaries, const void* x, void* y, cudaStream_t stream);

void mu_law_compand(CnnDType t, const float* x, void* y, int64_t n, cudaStream_t stream);

struct TileConcatArgs {
  int64_t steps = 0, positions_per_step = 0;  // the video's d and h * w
  int64_t c_im = 0, c_sound = 0, half = 0;    // short has 2 * half channels
  const void* im = nullptr;                   // [steps * positions_per_step, c_im]
  const void* sound = nullptr;                // [steps, c_sound]
  void* net = nullptr;                        // [steps * positions_per_step, c_im + c_sound]
  void* short_cut = nullptr;                  // [steps * positions_per_step, 2 * half]
};
void tile_concat(CnnDType t, const TileConcatArgs& a, cudaStream_t stream);

// Every pointer but y may be null (term left out); bias, scale, shift f32 [cols];
// residual [rows, cols] in the activation type. NaN passes the ReLU, as on the CPU.
struct Conv3dEpilogueArgs {
  int64_t rows = 0, cols = 0;
  void* y = nullptr;
  const float* bias = nullptr;
  const void* residual = nullptr;
  const float* scale = nullptr;
  const float* shift = nullptr;
  bool relu = false;
};
void conv3d_epilogue(CnnDType t, const Conv3dEpilogueArgs& a, cudaStream_t stream);

// x [positions, channels] (activation type), w f32 [channels], y f32 [positions].
void pointwise_logits(CnnDType t, const void* x, const float* w, float bias, float* y, int64_t positions,
                      int64_t channels, cudaStream_t stream);

// x [positions, channels] -> y f32 [channels].
void channel_mean(CnnDType t, const void* x, float* y, int64_t positions, int64_t channels, cudaStream_t stream);

}  // namespace hl::cuda
