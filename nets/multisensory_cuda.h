// Owens & Efros' Multisensory network on one NVIDIA GPU: the CUDA twin of MultisensoryCpu
// (nets/multisensory.h, golden-tested against TensorFlow), with the same weight file,
// inputs, checks and result (MultisensoryResult: the signed CAM [steps, h, w] and the
// logit). Batch 1: one clip per run().
//
// Precision:
//   f16 = false  exact f32: f32 activations, cuDNN f32 3-D convolutions without TF32
//                (kernels/cuda/cudnn_conv3d.h); matches MultisensoryCpu within 1e-4
//   f16 = true   fast: f16 channels-last activations and weights, f32 accumulation on
//                tensor cores; matches within 1e-2. The CAM and the logit are computed
//                in f32 from the last f16 activations either way.
//
// How: every conv runs through cuDNN (TensorFlow SAME padding, the odd end pad added by a
// copy), followed by one epilogue kernel with the bias, ReLU, and for a block's second
// conv the shortcut and the block's BatchNorm + ReLU; the sound's fixed-window fractional
// max-pool, mu-law, pooling, tiling + concatenation, the joint/logits at every position
// and the mean are kernels/cuda/multisensory_ops.h. Weights are uploaded once by load();
// activations and the cuDNN workspace come from the engine's caching arena; everything
// runs on the calling thread's engine stream (engine/cuda_backend.h). One object per
// thread: run() keeps per-layer cuDNN plans and scratch.
//
// In a build without CUDA, load() throws hl::Error saying so (nets/no_cuda/); in a CUDA
// build on a machine without a GPU it throws saying no device is visible.
//
// Tests: tests/cuda/test_cuda_multisensory.cpp (whole clips against MultisensoryCpu on the
// width-reduced TensorFlow fixtures, cam and shift nets, both precisions),
// tests/cuda/test_cuda_multisensory_ops.cpp (each op against the CPU).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "nets/multisensory.h"

namespace hl {

struct MultisensoryCudaOptions {
  int device = 0;
  bool f16 = true;
};

class MultisensoryCuda {
 public:
  // Reads a file written by hl-convert multisensory-* (the file MultisensoryCpu::load
  // reads) and uploads its weights; throws hl::Error naming the file when it is not one.
  static MultisensoryCuda load(const std::string& path, const MultisensoryCudaOptions& options = {});

  MultisensoryCuda(MultisensoryCuda&&) noexcept;
  MultisensoryCuda& operator=(MultisensoryCuda&&) noexcept;
  ~MultisensoryCuda();

  bool cam_model() const;
  int64_t width_divisor() const;
  bool f16() const;

  // As MultisensoryCpu::run: host inputs, host result. Throws hl::Error when the sizes do
  // not give matching sound and video steps, or on a CUDA / cuDNN failure.
  MultisensoryResult run(const float* images, int64_t frames, int64_t height, int64_t width, const float* samples,
                         int64_t n_samples) const;

  struct Impl;

 private:
  explicit MultisensoryCuda(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hl
