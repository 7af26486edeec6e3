// What the GoogLeNet and ResNet50 golden tests share: a fixture that runs
// tests/golden/cnn_ref.py once for the suite (`Script::kScriptName`: "googlenet" or
// "resnet50") and reads its state dict and arrays, and the comparison of a net's
// outputs with torchvision's (1e-4 relative: f32 whole networks, DESIGN section 6).
#pragma once
#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "autograd/golden_io.h"
#include "engine/safetensors.h"
#include "nets/cnn_backend.h"
#include "support/test_support.h"
#include "weights/cnn_map.h"

namespace hl::test {

template <typename Script>
class CnnGolden : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    ASSERT_EQ(run_golden_script("cnn_ref.py", {dir_->path().string(), Script::kScriptName}), 0)
        << "tests/golden/cnn_ref.py failed (are torch, torchvision and safetensors importable by $HL_PYTHON?)";
    manifest_ = nlohmann::json::parse(read_file(dir_->file("manifest.json")));
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static NamedTensors state_dict() {
    const SafetensorsFile file = SafetensorsFile::open(dir_->file("state_dict.safetensors"));
    NamedTensors sd;
    for (const std::string& name : file.names()) sd.emplace_back(name, file.get(name));
    return sd;
  }
  static Tensor array(const char* name) { return load_f32(*dir_, manifest_[name]); }

  static inline TempDir* dir_ = nullptr;
  static inline nlohmann::json manifest_;
};

inline void expect_matches(const CnnOutput& out, const Tensor& embedding, const Tensor& logits,
                           const std::string& what) {
  ASSERT_EQ(out.embedding.shape(), embedding.shape()) << what;
  ASSERT_EQ(out.logits.shape(), logits.shape()) << what;
  expect_close(out.embedding.data<float>(), embedding.data<float>(), embedding.numel(), 1e-4, what + " embedding");
  expect_close(out.logits.data<float>(), logits.data<float>(), logits.numel(), 1e-4, what + " logits");
  std::printf("%s: embedding %.3g, logits %.3g relative error\n", what.c_str(),
              relative_error(out.embedding.data<float>(), embedding.data<float>(), embedding.numel()),
              relative_error(out.logits.data<float>(), logits.data<float>(), logits.numel()));
}

}  // namespace hl::test
