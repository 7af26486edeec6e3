// Owens & Efros' Multisensory network on the CPU (specs/multisensory.md; the publisher's
// make_net in andrewowens/multisensory src/shift_net.py), from the weights hl-convert
// multisensory-cam / multisensory-shift writes (weights/multisensory_map.h).
//
// Inputs, as the publisher prepares them: `images` [frames, height, width, 3] RGB scaled
// to [-1, 1] (-1 + 2/255 x; the published nets see 125 frames of 224x224), `samples`
// [n, 2] stereo at 21 kHz in [-1, 1] (87,588 for 4.2 s). The sound path must end in 86
// (or 44) steps and the video path (frames / 4, rounded up) in the 32 (or 16) steps the
// sound is pooled to: 125 frames with 87,588 samples, or 63 with 44,144.
//
// Outputs: `cam` [steps, h, w] = joint/logits (1x1x1 conv, with its bias) applied at every
// position of the last conv (16 x 14 x 14 for cam_v1 at 224x224, 16 x 7 x 7 for shift_v1;
// signed: the publisher takes abs() only to display it), and `logit` = joint/logits of the
// last conv averaged over time and space (> 0: audio and video in sync).
//
// The sound's fractional max-pool uses fixed windows (kernels/cpu/fractional_pool.h): the
// publisher's call is random at every run. Batch 1; the convolutions (kernels/cpu/conv3d.h)
// are Winograd F(4x4, 3x3) + OpenBLAS GEMMs for the 3x3x3 stride-1 ones, a direct
// register-tiled AVX-512 kernel for the video and sound stems and the strided 3x3x3 conv
// of conv2_2, im2col + GEMM for the rest, over the engine's threads (~1.9 s per full-size
// clip on one thread: 1.58x TensorFlow's clips per second, 1.80x at 2 threads, on the idle
// 2-core development machine: docs/benchmarks.md "CAM against
// TensorFlow (CPU) after the conv work"). The Winograd filters are transformed on every
// call, not kept:
// kept, F(4x4)'s would hold ~4x the weights (~600 MB at full width) for ~4 % of a clip.
// The bits can differ in the last place between thread counts (the Winograd chunking
// follows the thread count, kernels/cpu/conv3d_winograd.h). What lies between them
// (ReLU, the residual add with the folded BatchNorm, merge()'s tiling, the mean) is one
// vectorised, threaded pass each (kernels/cpu/multisensory_fused.h). The layers are
// resolved once at load (nets/multisensory_layers.h).
//
// Tests: tests/nets/test_multisensory_net.cpp (a width-reduced net on a 64x64 clip against
// TensorFlow running the same graph, tests/nets/make_multisensory_golden.py; repeated and
// concurrent runs), tests/nets/test_multisensory_fused.cpp.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace hl {

struct MultisensoryResult {
  int64_t steps = 0, height = 0, width = 0;
  std::vector<float> cam;  // [steps, height, width]
  float logit = 0.0f;
};

struct MultisensoryLayers;        // nets/multisensory_layers.h
class MultisensoryScratchPool;  // nets/multisensory.cpp

class MultisensoryCpu {
 public:
  // Reads a file written by hl-convert multisensory-*; throws hl::FormatError naming the
  // file when it is not one (hl.net, hl.width_divisor, a missing tensor, a wrong shape or
  // dtype: every tensor is checked by running a silent 125 x 8 x 8 clip through the net
  // at load, ~0.1 s) or it is damaged (engine/safetensors.h).
  static MultisensoryCpu load(const std::string& path);

  bool cam_model() const { return cam_model_; }      // cam_v1 (no spatial stride in conv5_1)
  int64_t width_divisor() const { return divisor_; }

  // Throws hl::Error when the sizes do not give matching sound and video steps.
  // `images` and `samples` are read in place. The activations live in buffers the net
  // keeps between calls (~350 MB for a full-size clip, allocated by the first one; a
  // bigger clip grows them), so a steady run allocates only what the convolution kernels
  // do. Several threads may call run() on one net at once: each call takes a set of
  // buffers of its own from a pool (a second set is made only when two calls overlap), and
  // the results equal one thread's bit for bit.
  MultisensoryResult run(const float* images, int64_t frames, int64_t height, int64_t width, const float* samples,
                         int64_t n_samples) const;
  // The same, into `out` (its cam vector keeps its capacity: no allocation when it fits).
  void run_into(const float* images, int64_t frames, int64_t height, int64_t width, const float* samples,
                int64_t n_samples, MultisensoryResult& out) const;

 private:
  std::string path_;
  bool cam_model_ = true;
  int64_t divisor_ = 1;
  // Shared by copies of the net: the layers never change after load; the pool is locked.
  std::shared_ptr<const MultisensoryLayers> layers_;
  std::shared_ptr<MultisensoryScratchPool> scratch_;
};

}  // namespace hl
