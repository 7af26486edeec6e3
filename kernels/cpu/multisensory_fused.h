// The Multisensory network's elementwise work between its convolutions (nets/multisensory.h),
// each as one vectorised pass (AVX-512 / AVX2 / baseline clones, HL_SIMD_CLONES) over the
// engine's threads (kernels/cpu/parallel.h), over channels-last activations [positions, c].
//
// Every function computes exactly what the unfused scalar loops it replaced computed, in
// the same order per element and without fused multiply-add (hl_kernels is built with
// -ffp-contract=off), so the network's outputs did not change by one bit:
//   relu_max_f32:          x = max(x, 0) as std::max(x, 0.0f) (-0 and NaN stay as they are).
//   add_bn_relu_f32:       y = max((y + shortcut) * scale[c] + shift[c], 0), the end of a
//                          residual block (the add, the folded BatchNorm, the ReLU), where
//                          the shortcut is read in place from the block's input (every
//                          s-th element along each axis: a strided 1x1x1 max-pool is that
//                          element), from a 1x1 conv's output, or is absent (y * scale + ...).
//   merge_add_bn_relu_f32: the same with merge()'s shortcut, the first `half` channels of
//                          the video and the last `half` of the sound step of each position.
//   concat_tiled_f32:      y[p] = [video[p], sound[p / per_step]]: the sound tiled over space.
//   channel_mean_f32:      mean[c] = sum over positions of x[p, c] / positions, summed in
//                          double in position order.
// Tests: tests/nets/test_multisensory_fused.cpp (each against the plain loop written there,
// bit for bit, at 1 and 2 threads), and the whole network in tests/nets/test_multisensory_net.cpp.
#pragma once
#include <cstdint>

namespace hl::cpu {

void relu_max_f32(float* x, int64_t n);

// A shortcut read in place: element (od, oh, ow, c) of the block's output is
// x[((od sd) h + oh sh) w + ow sw, c] of x [d, h, w, c] (strides 1: the same shape).
struct StridedShortcut {
  const float* x = nullptr;  // null: no shortcut
  int64_t d = 0, h = 0, w = 0, c = 0;
  int64_t sd = 1, sh = 1, sw = 1;
};

// y [d, h, w, c] in place; scale, shift [c].
void add_bn_relu_f32(float* y, int64_t d, int64_t h, int64_t w, int64_t c, const StridedShortcut& shortcut,
                     const float* scale, const float* shift);

// y [positions, 2 half] in place; video [positions, c_video] (its first half channels),
// sound [positions / per_step, c_sound] (its last half channels); half <= c_video, c_sound.
void merge_add_bn_relu_f32(float* y, int64_t positions, int64_t half, const float* video, int64_t c_video,
                           const float* sound, int64_t c_sound, int64_t per_step, const float* scale,
                           const float* shift);

// y [positions, c_video + c_sound] from video [positions, c_video] and sound
// [positions / per_step, c_sound].
void concat_tiled_f32(const float* video, int64_t positions, int64_t c_video, const float* sound, int64_t c_sound,
                      int64_t per_step, float* y);

// mean [c] of x [positions, c].
void channel_mean_f32(const float* x, int64_t positions, int64_t c, float* mean);

}  // namespace hl::cpu
