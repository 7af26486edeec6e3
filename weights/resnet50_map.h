// torchvision's ResNet50 ("v1.5": the stride sits on each bottleneck's 3x3 conv), as the
// Places365 model uses it (specs/nets.md): its architecture constants, shared with
// nets/resnet50.cpp, and the converter of its state dict to our weight file.
//
// Our names: "conv1" (conv1 + bn1), "layerS.B.conv1" .. "conv3" (each with its bnK),
// "layerS.0.downsample" (downsample.0 conv + downsample.1 BatchNorm), "fc". BatchNorm eps
// 1e-5. Layouts and the BatchNorm forms: weights/cnn_map.h. num_batches_tracked is
// ignored (the Places365 file has none); the DataParallel prefix "module." is stripped.
//
// Tests: tests/weights/test_cnn_maps.cpp, tests/nets/test_resnet50_golden.cpp.
#pragma once
#include <array>
#include <cstdint>

#include "weights/cnn_map.h"

namespace hl {

inline constexpr double kResNet50BatchNormEps = 1e-5;
inline constexpr int64_t kResNet50Embedding = 2048;
inline constexpr int64_t kResNet50Expansion = 4;  // a bottleneck's output = 4 x its width
// Per stage (layer1..layer4): bottleneck count, width, stride of the first block.
inline constexpr std::array<int64_t, 4> kResNet50Blocks = {3, 4, 6, 3};
inline constexpr std::array<int64_t, 4> kResNet50Widths = {64, 128, 256, 512};
inline constexpr std::array<int64_t, 4> kResNet50Strides = {1, 2, 2, 2};

// Throws hl::Error listing missing and unexpected keys and wrong shapes or dtypes.
// Metadata: hl.net "resnet50", hl.batchnorm "folded" | "unfolded", hl.classes (365 for
// Places365, from fc.weight), hl.format_version "1".
ConvertResult convert_resnet50(const NamedTensors& state_dict, bool fold_batchnorm = true);

}  // namespace hl
