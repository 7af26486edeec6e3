// The Multisensory network's layers as MultisensoryCpu::load resolves them once from the
// weight file (nets/multisensory.h): each conv's tensors and kernel size, each block's
// convs, optional shortcut conv and folded BatchNorm, so that run() looks nothing up by
// name. A kernel that prepares something per layer once (e.g. Winograd-transformed
// filters, kernels/cpu/conv3d_winograd.h) gets a member in MultisensoryConv, filled in
// resolve_multisensory_layers. Tensors share their storage with the file's copy.
// Tests: tests/nets/test_multisensory_net.cpp, tests/nets/test_multisensory_load.cpp.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "engine/tensor.h"

namespace hl {

using MultisensoryStride = std::array<int64_t, 3>;  // depth (time), height, width

// `name`.weight [kd, kh, kw, c_in, c_out] (a 2-D conv along time: [k, 1, c_in, c_out],
// read as kd = 1, kh = k, kw = 1), `name`.bias [c_out].
struct MultisensoryConv {
  std::string name;
  Tensor weight, bias;
  int64_t kd = 1, kh = 1, kw = 1, c_in = 0, c_out = 0;
};

// A folded BatchNorm: `name`.scale, `name`.shift [c].
struct MultisensoryBn {
  std::string name;
  Tensor scale, shift;
  int64_t c = 0;
};

// block2 / block3 of shift_net.py: conv1 (with ReLU, strided), conv2, the shortcut (the
// input, its every s-th element, or the conv `scope`_short when the file has one), the
// add, the BatchNorm and ReLU.
struct MultisensoryBlock {
  std::string scope;
  int64_t filters = 0;  // the block's width, n / hl.width_divisor
  MultisensoryStride stride{1, 1, 1};
  MultisensoryConv conv1, conv2;
  std::optional<MultisensoryConv> shortcut;
  MultisensoryBn bn;
};

struct MultisensoryLayers {
  MultisensoryConv sf_conv1_1;
  std::array<MultisensoryBlock, 3> sf_blocks;  // sf.conv2_1, sf.conv3_1, sf.conv4_1
  MultisensoryConv sf_conv5_1;
  MultisensoryConv im_conv1;
  std::array<MultisensoryBlock, 2> im_blocks_before_merge;  // im.conv2_1, im.conv2_2
  MultisensoryConv merge1, merge2;
  MultisensoryBn merge_bn;
  std::array<MultisensoryBlock, 6> im_blocks_after_merge;  // im.conv3_1 ... im.conv5_2
  MultisensoryConv joint_logits;
  int64_t merge_half = 0;  // 64 / hl.width_divisor: the channels merge()'s shortcut takes from each side
};

// Throws hl::FormatError naming `path` for a missing tensor, one that is not f32, or a
// kernel of the wrong rank; channel counts are checked against the activations by run().
MultisensoryLayers resolve_multisensory_layers(const std::map<std::string, Tensor>& tensors, const std::string& path,
                                               int64_t divisor, bool cam_model);

}  // namespace hl
