// The CUDA backend of the inference CNNs (nets/cnn_backend.h), for GoogLeNet and
// ResNet50 on an NVIDIA GPU. Two precisions:
//   f16 = false  exact f32: f32 activations, cuDNN f32 convolutions without TF32, cuBLAS
//                f32; matches the CPU backend within 1e-4 over a whole network
//   f16 = true   fast: f16 NHWC activations and weights, f32 accumulation on tensor
//                cores; matches the CPU backend within 1e-2
// The design, what is verified and what has not run yet: docs/cuda-cnn.md.
//
// In a build without CUDA, make_cuda_cnn_backend throws hl::Error saying so; in a CUDA
// build on a machine without a GPU it throws saying that no device is visible.
// Tests: tests/cuda/test_cuda_cnn.cpp (each op and both whole networks against the CPU
// backend).
#pragma once
#include <memory>

#include "nets/cnn_backend.h"

namespace hl {

struct CudaCnnOptions {
  int device = 0;
  bool f16 = true;
};

std::unique_ptr<CnnBackend> make_cuda_cnn_backend(const CudaCnnOptions& options);

}  // namespace hl
