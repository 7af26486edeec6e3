// hl-convert multisensory-cam / multisensory-shift run as a user runs it (HL_CONVERT_PATH)
// on a width-reduced (1/32) Multisensory checkpoint saved by TensorFlow under the
// publisher's slim names (tests/nets/multisensory_fixtures, made by
// tests/nets/make_multisensory_fixtures.py). Expected tensors were computed by that
// script with numpy in float64 from what TensorFlow reads back (BatchNorm folding done
// there, independently): every tensor's name, shape, sum and sum of squares, and all the
// values of a few. The broken checkpoint must be refused with every problem listed,
// exit code 1, and an existing output file left untouched.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/safetensors.h"
#include "support/test_support.h"

namespace hl {
namespace {

namespace fs = std::filesystem;

std::string fixture(const std::string& name) {
  return (test::source_dir() / "tests" / "nets" / "multisensory_fixtures" / name).string();
}

bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

nlohmann::json expected_json() {
  std::ifstream f(fixture("cam_w32.expected.json"));
  return nlohmann::json::parse(f);
}

test::CommandResult convert(const std::string& net, const std::string& input, const std::string& out) {
  return test::run_command({HL_CONVERT_PATH, net, input, "-o", out});
}

// Every tensor against the script's numpy values. A sum of n f32 values, each within half
// an ulp (6e-8 relative) of the float64 value it was rounded from, is off by at most
// 6e-8 * sum|x| <= 6e-8 * sqrt(n * sum x^2); the tolerance below is 16 times that.
void expect_expected_tensors(const SafetensorsFile& file) {
  const nlohmann::json e = expected_json();
  ASSERT_EQ(file.tensors().size(), e["tensors"].size());
  for (const auto& t : e["tensors"]) {
    const std::string name = t["name"];
    ASSERT_TRUE(file.contains(name)) << name;
    const Tensor got = file.get(name);
    EXPECT_EQ(got.shape().vec(), t["shape"].get<std::vector<int64_t>>()) << name;
    const float* p = got.data<float>();
    double sum = 0, sum_squares = 0;
    for (int64_t i = 0; i < got.numel(); ++i) {
      sum += p[i];
      sum_squares += static_cast<double>(p[i]) * p[i];
    }
    const double want_sq = t["sum_squares"];
    const double scale = std::sqrt(static_cast<double>(got.numel()) * want_sq);
    EXPECT_NEAR(sum, t["sum"].get<double>(), 1e-6 * scale + 1e-12) << name;
    EXPECT_NEAR(sum_squares, want_sq, 2e-6 * want_sq + 1e-12) << name;
    if (t.contains("values")) {
      const std::vector<float> want = t["values"].get<std::vector<float>>();
      ASSERT_EQ(static_cast<int64_t>(want.size()), got.numel()) << name;
      // Same float64 formula rounded once to f32 on both sides.
      for (size_t i = 0; i < want.size(); ++i)
        EXPECT_NEAR(p[i], want[i], 1.2e-7 * std::max(1.0f, std::fabs(want[i]))) << name << "[" << i << "]";
    }
  }
}

TEST(MultisensoryConvert, CamCheckpointGivesTheFoldedTensors) {
  test::TempDir dir;
  const std::string out = dir.file("multisensory-cam.safetensors");
  const auto r = convert("multisensory-cam", fixture("cam_w32"), out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "width 1/32")) << r.out;
  const SafetensorsFile file = SafetensorsFile::open(out);
  expect_expected_tensors(file);
  EXPECT_EQ(file.metadata().at("hl.net"), "multisensory-cam");
  EXPECT_EQ(file.metadata().at("hl.width_divisor"), "32");
  EXPECT_EQ(file.metadata().at("hl.batchnorm"), "folded");
  EXPECT_EQ(file.metadata().at("hl.source_file"), "cam_w32");
  // global_step, 3 Momentum slots, 4 renorm statistics for each of the 24 renorm BatchNorms.
  EXPECT_TRUE(Contains(r.out, "100 tensors")) << r.out;
}

TEST(MultisensoryConvert, ShiftNetAndIndexPathAreAccepted) {
  test::TempDir dir;
  const std::string out = dir.file("shift.safetensors");
  const auto r = convert("multisensory-shift", fixture("cam_w32.index"), out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const SafetensorsFile file = SafetensorsFile::open(out);
  expect_expected_tensors(file);
  EXPECT_EQ(file.metadata().at("hl.net"), "multisensory-shift");
}

TEST(MultisensoryConvert, BrokenCheckpointListsEveryProblemAndKeepsTheOutput) {
  test::TempDir dir;
  const std::string out = dir.file("multisensory-cam.safetensors");
  test::write_file(out, std::string("previous contents"));
  const auto r = convert("multisensory-cam", fixture("broken_w32"), out);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.err, "broken_w32.index")) << r.err;
  EXPECT_TRUE(Contains(r.err, "missing (1)")) << r.err;
  EXPECT_TRUE(Contains(r.err, "im/conv3_1_2/biases [4]")) << r.err;
  EXPECT_TRUE(Contains(r.err, "unexpected (1)")) << r.err;
  EXPECT_TRUE(Contains(r.err, "im/extra/weights [1, 1, 1, 2, 2]")) << r.err;
  EXPECT_TRUE(Contains(r.err, "sf/conv1_1/BatchNorm/beta is F64, expected F32")) << r.err;
  EXPECT_TRUE(Contains(r.err, "joint/logits/weights has shape [1, 1, 1, 17, 1], expected [1, 1, 1, 16, 1]"))
      << r.err;
  const std::vector<uint8_t> kept = test::read_file(out);
  EXPECT_EQ(std::string(kept.begin(), kept.end()), "previous contents");
}

TEST(MultisensoryConvert, NotAMultisensoryCheckpointIsRefused) {
  test::TempDir dir;
  const std::string out = dir.file("x.safetensors");
  // A TensorFlow checkpoint of other variables (the reader's fixture).
  auto r = convert("multisensory-cam", (test::source_dir() / "tests/weights/tf_fixtures/sharded").string(), out);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.err, "sharded.index")) << r.err;
  EXPECT_TRUE(Contains(r.err, "no im/conv1/weights")) << r.err;
  // No checkpoint at all.
  r = convert("multisensory-cam", dir.file("nothing"), out);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.err, "nothing")) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
}  // namespace hl
