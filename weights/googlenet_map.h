// torchvision's GoogLeNet (Inception v1; specs/nets.md): its architecture table, shared
// with nets/googlenet.cpp, and the converter of its state dict to our weight file.
//
// Our names: every BasicConv2d (conv without bias -> BatchNorm eps 0.001 -> ReLU) keeps
// its torchvision prefix, e.g. "conv1", "inception4a.branch2.1" (state-dict keys
// "<prefix>.conv.weight", "<prefix>.bn.*"); the classifier is "fc". Layouts and the
// BatchNorm forms: weights/cnn_map.h. The auxiliary heads (aux1.*, aux2.*) and every
// num_batches_tracked are ignored.
//
// Tests: tests/weights/test_cnn_maps.cpp, tests/nets/test_googlenet_golden.cpp.
#pragma once
#include <array>
#include <cstdint>
#include <string>

#include "weights/cnn_map.h"

namespace hl {

inline constexpr double kGoogLeNetBatchNormEps = 0.001;
inline constexpr int64_t kGoogLeNetEmbedding = 1024;

// One Inception block: four branches concatenated in this order, out = ch1x1 + ch3x3 +
// ch5x5 + pool_proj channels.
//   branch1: 1x1 -> ch1x1
//   branch2: 1x1 -> ch3x3red, 3x3 pad 1 -> ch3x3
//   branch3: 1x1 -> ch5x5red, 3x3 pad 1 -> ch5x5 (torchvision keeps a 3x3 here)
//   branch4: maxpool 3 stride 1 pad 1 ceil_mode, 1x1 -> pool_proj
struct InceptionWidths {
  const char* name;  // "inception3a"
  int64_t in, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj;
  int64_t out() const { return ch1x1 + ch3x3 + ch5x5 + pool_proj; }
};

inline constexpr std::array<InceptionWidths, 9> kGoogLeNetInception = {{
    {"inception3a", 192, 64, 96, 128, 16, 32, 32},
    {"inception3b", 256, 128, 128, 192, 32, 96, 64},
    {"inception4a", 480, 192, 96, 208, 16, 48, 64},
    {"inception4b", 512, 160, 112, 224, 24, 64, 64},
    {"inception4c", 512, 128, 128, 256, 24, 64, 64},
    {"inception4d", 512, 112, 144, 288, 32, 64, 64},
    {"inception4e", 528, 256, 160, 320, 32, 128, 128},
    {"inception5a", 832, 256, 160, 320, 32, 128, 128},
    {"inception5b", 832, 384, 192, 384, 48, 128, 128},
}};

// Throws hl::Error listing missing and unexpected keys and wrong shapes or dtypes.
// Metadata: hl.net "googlenet", hl.batchnorm "folded" | "unfolded", hl.classes,
// hl.format_version "1".
ConvertResult convert_googlenet(const NamedTensors& state_dict, bool fold_batchnorm = true);

}  // namespace hl
