// The Multisensory network's CPU ops against TensorFlow's own outputs
// (tests/nets/multisensory_fixtures/ops.json, written by make_multisensory_ops_fixtures.py
// with TensorFlow 2.21) and against padding arithmetic done by hand here.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <vector>

#include "kernels/cpu/conv3d.h"
#include "kernels/cpu/fractional_pool.h"
#include "kernels/cpu/pool3d.h"
#include "support/test_support.h"

namespace hl {
namespace {

const nlohmann::json& ops() {
  static const nlohmann::json j = [] {
    std::ifstream f(test::source_dir() / "tests" / "nets" / "multisensory_fixtures" / "ops.json");
    return nlohmann::json::parse(f);
  }();
  return j;
}

std::vector<float> floats(const nlohmann::json& j) { return j.get<std::vector<float>>(); }
std::vector<int64_t> ints(const nlohmann::json& j) { return j.get<std::vector<int64_t>>(); }

// Float sums in another order than TensorFlow's (oneDNN): a few ulps of the largest
// partial sum, far below 1e-5 of the largest output for these sizes.
constexpr double kTol = 1e-5;

TEST(MultisensoryOps, TfSamePaddingPutsTheOddPadAtTheEnd) {
  // in 7, kernel 3, stride 2: out ceil(7/2) = 4, total (4-1)*2+3-7 = 2, before 1.
  EXPECT_EQ(cpu::tf_padding(7, 3, 2, true).out, 4);
  EXPECT_EQ(cpu::tf_padding(7, 3, 2, true).pad_before, 1);
  // in 8, kernel 3, stride 2: out 4, total 3*2+3-8 = 1, before 0 (the one pad at the end).
  EXPECT_EQ(cpu::tf_padding(8, 3, 2, true).out, 4);
  EXPECT_EQ(cpu::tf_padding(8, 3, 2, true).pad_before, 0);
  // in 224, kernel 7, stride 2 (im/conv1): out 112, total 111*2+7-224 = 5, before 2.
  EXPECT_EQ(cpu::tf_padding(224, 7, 2, true).pad_before, 2);
  // 87588 samples, kernel 65, stride 4 (sf/conv1_1): out 21897.
  EXPECT_EQ(cpu::tf_padding(87588, 65, 4, true).out, 21897);
  // VALID [4] stride 4 after it: 5474 steps.
  EXPECT_EQ(cpu::tf_padding(21897, 4, 4, false).out, 5474);
  EXPECT_FALSE(test::error_of([] { cpu::tf_padding(3, 4, 1, false); }) == "(no error)");
}

TEST(MultisensoryOps, Conv3dSmallCaseByHand) {
  // x [1, 1, 1, 3, 1] = {1, 2, 3}, kernel [1, 1, 2, 1, 1] = {10, 1}, stride 1, SAME:
  // out 3, total pad 1, all at the end: y = {1*10+2, 2*10+3, 3*10+0} + bias 0.5.
  cpu::Conv3dShape s;
  s.batch = s.depth = s.height = 1;
  s.width = 3;
  s.c_in = s.c_out = 1;
  s.kw = 2;
  const float x[3] = {1, 2, 3}, w[2] = {10, 1}, b[1] = {0.5f};
  float y[3];
  cpu::conv3d_ndhwc_f32(s, x, w, b, y);
  EXPECT_FLOAT_EQ(y[0], 12.5f);
  EXPECT_FLOAT_EQ(y[1], 23.5f);
  EXPECT_FLOAT_EQ(y[2], 30.5f);
}

TEST(MultisensoryOps, Conv3dMatchesTensorFlow) {
  for (const auto& c : ops()["conv3d"]) {
    const auto xs = ints(c["x_shape"]), ws = ints(c["w_shape"]), st = ints(c["strides"]);
    cpu::Conv3dShape s{xs[0], xs[1], xs[2], xs[3], xs[4], ws[4], ws[0], ws[1], ws[2], st[0], st[1], st[2],
                       c["padding"] == "SAME"};
    const std::vector<float> x = floats(c["x"]), w = floats(c["w"]), want = floats(c["y"]);
    const auto ys = ints(c["y_shape"]);
    EXPECT_EQ(s.pad_d().out, ys[1]);
    EXPECT_EQ(s.pad_h().out, ys[2]);
    EXPECT_EQ(s.pad_w().out, ys[3]);
    std::vector<float> y(want.size());
    cpu::conv3d_ndhwc_f32(s, x.data(), w.data(), nullptr, y.data());
    test::expect_close(y, want, kTol, "conv3d " + c["x_shape"].dump() + " " + c["padding"].get<std::string>());
  }
}

TEST(MultisensoryOps, ConvAlongTimeIsConv3dWithDepthOne) {
  for (const auto& c : ops()["conv_time"]) {
    const auto xs = ints(c["x_shape"]), ws = ints(c["w_shape"]);
    // [B, N, 1, C] read as [B, 1, N, 1, C]; kernel [k, 1, in, out] as [1, k, 1, in, out].
    cpu::Conv3dShape s{xs[0], 1, xs[1], 1, xs[3], ws[3], 1, ws[0], 1, 1, c["stride"].get<int64_t>(), 1, true};
    const std::vector<float> x = floats(c["x"]), w = floats(c["w"]), want = floats(c["y"]);
    EXPECT_EQ(s.pad_h().out, ints(c["y_shape"])[1]);
    std::vector<float> y(want.size());
    cpu::conv3d_ndhwc_f32(s, x.data(), w.data(), nullptr, y.data());
    test::expect_close(y, want, kTol, "conv along time " + c["x_shape"].dump());
  }
}

TEST(MultisensoryOps, MaxPoolsMatchTensorFlow) {
  for (const auto& c : ops()["maxpool3d"]) {
    const auto xs = ints(c["x_shape"]);
    cpu::Pool3dShape s{xs[0], xs[1], xs[2], xs[3], xs[4], 1, 3, 3, 1, 2, 2, true};
    const std::vector<float> x = floats(c["x"]), want = floats(c["y"]);
    ASSERT_EQ(s.pad_d().out * s.pad_h().out * s.pad_w().out * xs[0] * xs[4], static_cast<int64_t>(want.size()));
    std::vector<float> y(want.size());
    cpu::maxpool3d_ndhwc_f32(s, x.data(), y.data());
    EXPECT_EQ(y, want) << "max_pool3d " << c["x_shape"].dump();  // a max is exact
  }
  for (const auto& c : ops()["maxpool_time"]) {
    const auto xs = ints(c["x_shape"]);
    cpu::Pool3dShape s{xs[0], 1, xs[1], 1, xs[3], 1, 4, 1, 1, 4, 1, false};
    const std::vector<float> x = floats(c["x"]), want = floats(c["y"]);
    ASSERT_EQ(s.pad_h().out * xs[3], static_cast<int64_t>(want.size()));
    std::vector<float> y(want.size());
    cpu::maxpool3d_ndhwc_f32(s, x.data(), y.data());
    EXPECT_EQ(y, want) << "max_pool2d VALID " << c["x_shape"].dump();
  }
}

TEST(MultisensoryOps, FractionalPoolWindowsAndOutputsMatchTensorFlow) {
  int checked = 0;
  for (const auto& c : ops()["fractional"]) {
    const auto xs = ints(c["x_shape"]);
    const std::vector<int64_t> rows = ints(c["rows"]);
    if (c["pseudo_random"].get<bool>()) {  // the windows we use
      EXPECT_EQ(cpu::multisensory_pool_boundaries(xs[1]), rows) << xs[1];
      ++checked;
    }
    EXPECT_EQ(ints(c["cols"]), (std::vector<int64_t>{0, 1}));
    const std::vector<float> x = floats(c["x"]), want = floats(c["y"]);
    std::vector<float> y(want.size());
    cpu::fractional_maxpool_rows_f32(xs[0], xs[1], xs[2], xs[3], rows, x.data(), y.data());
    EXPECT_EQ(y, want) << "fractional_max_pool " << xs[1];
  }
  EXPECT_EQ(checked, 2);
  EXPECT_NE(test::error_of([] { cpu::multisensory_pool_boundaries(50); }), "(no error)");
  float x[4] = {1, 2, 3, 4}, y[2];
  EXPECT_NE(test::error_of([&] { cpu::fractional_maxpool_rows_f32(1, 4, 1, 1, {0, 2, 2, 4}, x, y); }),
            "(no error)");
  EXPECT_NE(test::error_of([&] { cpu::fractional_maxpool_rows_f32(1, 4, 1, 1, {0, 2, 5}, x, y); }), "(no error)");
}

TEST(MultisensoryOps, MuLawMatchesTheImplementationInTensorFlow) {
  const std::vector<float> x = floats(ops()["mu_law"]["x"]), want = floats(ops()["mu_law"]["y"]);
  std::vector<float> y(x.size());
  cpu::mu_law_compand_f32(x.data(), y.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i)  // TensorFlow computes in f32: a few ulps
    EXPECT_NEAR(y[i], want[i], 4e-7 * std::max(1.0f, std::fabs(want[i]))) << "x = " << x[i];
  // By hand: 1 -> log(256)/log(256) = 1; -1 -> -1; 0 -> 0.
  EXPECT_FLOAT_EQ(y[0], -1.0f);
  EXPECT_FLOAT_EQ(y.back(), 1.0f);
}

}  // namespace
}  // namespace hl
