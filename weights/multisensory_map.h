// Owens & Efros' Multisensory network (ECCV 2018; andrewowens/multisensory): the converter
// from its TensorFlow V2 checkpoints (nets/cam/net.tf-675000, nets/shift/net.tf-650000;
// weights/tf_checkpoint.h) to our weight files multisensory-cam.safetensors and
// multisensory-shift.safetensors (specs/multisensory.md, docs/weights.md).
//
// The two checkpoints hold the same layers (cam_v1 differs from shift_v1 only in
// im/conv5_1's spatial stride, which is not a weight). Our names are the publisher's slim
// scopes with '/' turned into '.', e.g. "sf/conv2_1_1" -> "sf.conv2_1_1". Layouts stay
// TensorFlow's, all f32:
//   audio conv (2-D on [N, 1] time)  <scope>.weight [k, 1, c_in, c_out] (HWIO)
//   video conv (3-D)                 <scope>.weight [kd, kh, kw, c_in, c_out] (DHWIO)
//   conv + BatchNorm, folded:        .weight = w * a[out], .bias = beta - moving_mean * a
//   conv with biases (<block>_2, im.merge2, joint.logits): .weight, .bias as stored
//   stand-alone BatchNorm (<block>_bn, im.merge_block_bn): .scale = a, .shift = beta -
//   moving_mean * a (y = x * scale + shift, then ReLU)
// with a = gamma / sqrt(moving_variance + 0.001) in double (gamma = 1: the publisher
// trained with scale=False; a stored gamma is used). Ignored on purpose: global_step,
// optimizer slots (.../Momentum, .../Adam, .../Adam_1, beta1_power, beta2_power) and the
// training-only batch-renormalisation statistics (renorm_mean, renorm_stddev,
// renorm_mean_weight, renorm_stddev_weight, TensorFlow 2's moving_stddev).
//
// Width: every channel count is the publisher's divided by a width divisor (1 for the
// published nets; a power of two up to 64 for the width-reduced test networks), read
// from im/conv1/weights and written as metadata hl.width_divisor.
//
// Tests: tests/nets/test_multisensory_convert.cpp (a width-reduced checkpoint saved by
// TensorFlow under the publisher's names, tests/nets/make_multisensory_fixtures.py).
#pragma once
#include <cstdint>
#include <string>

#include "weights/cnn_map.h"
#include "weights/tf_checkpoint.h"

namespace hl {

enum class MultisensoryNet { Cam, Shift };

inline constexpr const char* kMultisensoryCamWeightsFile = "multisensory-cam.safetensors";
inline constexpr const char* kMultisensoryShiftWeightsFile = "multisensory-shift.safetensors";
inline constexpr double kMultisensoryBatchNormEpsilon = 0.001;

// Throws hl::Error listing every missing and unexpected tensor and every wrong shape or
// dtype (the checkpoint must hold f32 variables). Metadata: hl.net ("multisensory-cam" or
// "multisensory-shift"), hl.format_version "1", hl.batchnorm "folded", hl.width_divisor.
ConvertResult convert_multisensory(const TfCheckpoint& checkpoint, MultisensoryNet net);

}  // namespace hl
