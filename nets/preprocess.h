// The publishers' input preprocessing of the two visual networks (specs/nets.md,
// docs/preprocessing.md), exact to torchvision 0.14 on a PIL RGB image:
//   GoogLeNet (torchvision):     Resize(256) -> CenterCrop(224) -> ToTensor -> Normalize
//   Places365 (CSAILVision demo): Resize((256, 256)) -> CenterCrop(224) -> ToTensor -> Normalize
// with Normalize(mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225]) and PIL's
// bilinear resize (kernels/cpu/resize.h). Resize(256) sets the shorter side to 256 and
// the longer to int(256 * long / short); Resize((256, 256)) squashes.
// Output: f32 [224, 224, 3], channels last (NHWC is what the networks take).
// Tests: tests/nets/test_preprocess_golden.cpp (torchvision, bit for bit);
// tests/cuda/test_cuda_resize.cpp (the batch form on a CUDA output).
#pragma once
#include <cstdint>
#include <vector>

#include "engine/tensor.h"

namespace hl {

enum class Preprocess { GoogLeNet, Places365 };

constexpr int64_t kPreprocessCrop = 224;  // side of the network input
constexpr int64_t kPreprocessResize = 256;  // the resize step's target (shorter side, or both)

const char* preprocess_name(Preprocess kind);  // "googlenet", "places365"

// Height and width after the resize step for an image of height x width.
struct ImageSize {
  int64_t height = 0;
  int64_t width = 0;
};
ImageSize preprocess_resized_size(int64_t height, int64_t width, Preprocess kind);

// rgb: CPU u8 [H, W, 3]. Returns CPU f32 [224, 224, 3].
Tensor preprocess_image(const Tensor& rgb, Preprocess kind);

// Fills out[i] (f32 [N, 224, 224, 3], CPU or CUDA) from frames[i] (CPU u8 [H, W, 3],
// sizes may differ; N = frames.size()). On a CUDA output the resize and the
// normalisation run on the device (kernels/cuda/resize.h), a run of equal-sized
// frames at a time; the result is the same to the bit.
void preprocess_batch(const std::vector<Tensor>& frames, Preprocess kind, Tensor& out);

}  // namespace hl
