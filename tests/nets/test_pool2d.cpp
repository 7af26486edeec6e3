// The CPU kernels under the inference CNNs: kernels/cpu/pool2d (max pooling against
// PyTorch's F.max_pool2d with and without ceil_mode, global average pooling against
// F.adaptive_avg_pool2d, output sizes and errors against PyTorch's documented rule
// worked out here by hand) and kernels/cpu/conv2d_fused (every epilogue and a channel
// slice, against a naive double-precision convolution written in this file).
// Tolerances: max pooling selects elements, so it must be exact; the average 1e-5 and
// the convolutions 1e-5 relative (f32 ops, DESIGN section 6).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "autograd/golden_io.h"
#include "kernels/cpu/conv2d_fused.h"
#include "kernels/cpu/pool2d.h"
#include "support/test_support.h"

namespace hl {
namespace {

using nlohmann::json;

cpu::Pool2dShape pool_shape(int64_t n, int64_t h, int64_t w, int64_t c, int64_t k, int64_t s, int64_t p, bool ceil) {
  cpu::Pool2dShape shape;
  shape.batch = n, shape.height = h, shape.width = w, shape.channels = c;
  shape.kh = shape.kw = k;
  shape.stride_h = shape.stride_w = s;
  shape.pad_h = shape.pad_w = p;
  shape.ceil_mode = ceil;
  return shape;
}

TEST(Pool2dGolden, MatchesTorchMaxPoolAndAdaptiveAvgPool) {
  test::TempDir dir;
  ASSERT_EQ(test::run_golden_script("cnn_ref.py", {dir.path().string(), "pool"}), 0)
      << "tests/golden/cnn_ref.py failed (is torch importable by $HL_PYTHON?)";
  const json manifest = json::parse(test::read_file(dir.file("manifest.json")));
  ASSERT_EQ(manifest["maxpool"].size(), 8u);
  for (const json& c : manifest["maxpool"]) {
    const Tensor x = test::load_f32(dir, c["x"]), want = test::load_f32(dir, c["y"]);
    const cpu::Pool2dShape s = pool_shape(x.size(0), x.size(1), x.size(2), x.size(3), c["kernel"], c["stride"],
                                          c["pad"], c["ceil_mode"]);
    const std::string what = "maxpool2d " + x.shape().str() + " " + c.dump();
    ASSERT_EQ(s.out_height(), want.size(1)) << what;
    ASSERT_EQ(s.out_width(), want.size(2)) << what;
    Tensor y = Tensor::empty(want.shape(), DType::F32);
    cpu::maxpool2d_f32(s, x.data<float>(), y.data<float>());
    test::expect_close(y.data<float>(), want.data<float>(), want.numel(), 0.0, what);
  }
  const Tensor x = test::load_f32(dir, manifest["avgpool"]["x"]), want = test::load_f32(dir, manifest["avgpool"]["y"]);
  Tensor y = Tensor::empty(want.shape(), DType::F32);
  cpu::global_avgpool_f32(x.data<float>(), y.data<float>(), x.size(0), x.size(1) * x.size(2), x.size(3));
  test::expect_close(y.data<float>(), want.data<float>(), want.numel(), 1e-5, "global_avgpool");
}

// PyTorch's rule: floor or ceil of (in + 2 pad - k) / stride, plus one; with ceil_mode,
// one less when the last window would start at or past in + pad.
TEST(Pool2d, OutputSizesFollowPyTorchsRule) {
  EXPECT_EQ(pool_shape(1, 112, 112, 1, 3, 2, 0, false).out_height(), 55);  // floor(109 / 2) + 1
  EXPECT_EQ(pool_shape(1, 112, 112, 1, 3, 2, 0, true).out_height(), 56);   // ceil(109 / 2) + 1
  EXPECT_EQ(pool_shape(1, 14, 14, 1, 2, 2, 0, true).out_height(), 7);
  EXPECT_EQ(pool_shape(1, 112, 112, 1, 3, 2, 1, false).out_height(), 56);  // ResNet: floor(111 / 2) + 1
  EXPECT_EQ(pool_shape(1, 9, 9, 1, 3, 1, 1, true).out_height(), 9);
  // ceil(5 / 2) + 1 = 4, but window 3 would start at 6 = in + pad: dropped.
  EXPECT_EQ(pool_shape(1, 5, 5, 1, 2, 2, 1, true).out_height(), 3);
  // ceil(4 / 2) + 1 = 3 and window 2 starts at 4 < 6 + 0: kept, one row wide.
  EXPECT_EQ(pool_shape(1, 6, 6, 1, 2, 2, 0, true).out_height(), 3);
}

TEST(Pool2d, WindowsClipToTheInputAndPaddingIsNeverTheMaximum) {
  // 1 x 3 x 3 x 1 of negative values, 2x2 windows, stride 2, ceil_mode: windows
  // [0, 2) and [2, 3) in each direction; the last ones hold only the edge.
  const std::vector<float> x = {-1, -2, -3, -4, -5, -6, -7, -8, -9};
  const cpu::Pool2dShape s = pool_shape(1, 3, 3, 1, 2, 2, 0, true);
  std::vector<float> y(4);
  cpu::maxpool2d_f32(s, x.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{-1, -3, -7, -9}));
  // Padding 1 with a 3x3 window, stride 2, on all negative values (a padded zero would
  // win): windows [-1, 2) and [1, 4) clip to rows/columns {0, 1} and {1, 2}.
  const cpu::Pool2dShape p = pool_shape(1, 3, 3, 1, 3, 2, 1, false);
  cpu::maxpool2d_f32(p, x.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{-1, -2, -4, -5}));
}

TEST(Pool2d, NaNWins) {
  std::vector<float> x = {1, 2, 3, 4};
  x[1] = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> y(1);
  cpu::maxpool2d_f32(pool_shape(1, 2, 2, 1, 2, 2, 0, false), x.data(), y.data());
  EXPECT_TRUE(std::isnan(y[0]));
}

TEST(Pool2d, BadShapesAreErrors) {
  EXPECT_NE(test::error_of([] { pool_shape(1, 8, 8, 1, 3, 2, 2, false).validate("pool"); }).find("half the kernel"),
            std::string::npos);
  EXPECT_NE(test::error_of([] { pool_shape(1, 1, 1, 1, 3, 2, 0, true).validate("pool"); }).find("too small"),
            std::string::npos);
  EXPECT_NE(test::error_of([] { pool_shape(1, 8, 8, 1, 3, 0, 0, true).validate("pool"); }).find("strides"),
            std::string::npos);
}

// y[n, i, j, o] by the definition, in double.
std::vector<double> naive_conv(const cpu::Conv2dShape& s, const std::vector<float>& x, const std::vector<float>& w) {
  const int64_t oh = s.out_height(), ow = s.out_width();
  std::vector<double> y(static_cast<size_t>(s.batch * oh * ow * s.c_out), 0.0);
  for (int64_t n = 0; n < s.batch; ++n)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j)
        for (int64_t p = 0; p < s.kh; ++p)
          for (int64_t q = 0; q < s.kw; ++q) {
            const int64_t yy = i * s.stride_h + p - s.pad_top, xx = j * s.stride_w + q - s.pad_left;
            if (yy < 0 || yy >= s.height || xx < 0 || xx >= s.width) continue;
            for (int64_t c = 0; c < s.c_in; ++c) {
              const double v = x[((n * s.height + yy) * s.width + xx) * s.c_in + c];
              for (int64_t o = 0; o < s.c_out; ++o)
                y[((n * oh + i) * ow + j) * s.c_out + o] += v * w[((p * s.kw + q) * s.c_in + c) * s.c_out + o];
            }
          }
  return y;
}

struct ConvCase {
  int64_t batch, size, c_in, c_out, k, stride, pad;
};

TEST(FusedConv, EveryEpilogueIntoAChannelSlice) {
  // Stem 7x7/2, 3x3 'same' with enough rows for three im2col blocks, pointwise (no
  // im2col) and strided pointwise (a ResNet downsample).
  const std::vector<ConvCase> cases = {
      {2, 15, 3, 8, 7, 2, 3}, {2, 24, 256, 8, 3, 1, 1}, {2, 9, 16, 12, 1, 1, 0}, {2, 9, 16, 12, 1, 2, 0}};
  uint32_t seed = 1;
  for (const ConvCase& cc : cases)
    for (int form = 0; form < 4; ++form) {
      cpu::Conv2dShape s;
      s.batch = cc.batch, s.height = s.width = cc.size, s.c_in = cc.c_in, s.c_out = cc.c_out;
      s.kh = s.kw = cc.k;
      s.stride_h = s.stride_w = cc.stride;
      s.pad_top = s.pad_bottom = s.pad_left = s.pad_right = cc.pad;
      const int64_t rows = s.col_rows(), C = cc.c_out + 5, offset = 3;  // the slice [3, 3 + c_out) of C channels
      const auto x = test::random_floats(s.batch * s.height * s.width * s.c_in, seed++);
      const auto w = test::random_floats(s.col_width() * s.c_out, seed++);
      const auto scale = test::random_floats(s.c_out, seed++, 0.5f, 1.5f);
      const auto shift = test::random_floats(s.c_out, seed++);
      const auto residual = test::random_floats(rows * s.c_out, seed++);
      cpu::ConvEpilogue e;  // form 0: nothing; 1: shift, ReLU; 2: scale, shift, ReLU; 3: shift, residual, ReLU
      e.shift = form > 0 ? shift.data() : nullptr;
      e.scale = form == 2 ? scale.data() : nullptr;
      e.residual = form == 3 ? residual.data() : nullptr;
      e.relu = form > 0;

      std::vector<float> y(static_cast<size_t>(rows * C), 1234.5f), ws(cpu::conv2d_fused_workspace(s));
      cpu::conv2d_fused_f32(s, x.data(), w.data(), y.data() + offset, C, e, ws.data());

      const std::vector<double> conv = naive_conv(s, x, w);
      std::vector<float> got, want;
      bool outside_untouched = true;
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < C; ++c) {
          const float v = y[r * C + c];
          if (c < offset || c >= offset + s.c_out) {
            outside_untouched = outside_untouched && v == 1234.5f;
            continue;
          }
          const int64_t o = c - offset;
          double ref = conv[r * s.c_out + o];
          if (e.scale) ref *= scale[o];
          if (e.shift) ref += shift[o];
          if (e.residual) ref += residual[r * s.c_out + o];
          if (e.relu) ref = std::max(ref, 0.0);
          got.push_back(v);
          want.push_back(static_cast<float>(ref));
        }
      const std::string what = "conv " + std::to_string(cc.k) + "x" + std::to_string(cc.k) + "/" +
                               std::to_string(cc.stride) + " c_in " + std::to_string(cc.c_in) + " form " +
                               std::to_string(form);
      EXPECT_TRUE(outside_untouched) << what << ": wrote outside its channel slice";
      test::expect_close(got, want, 1e-5, what);
    }
}

TEST(FusedConv, ARowStrideBelowTheChannelsIsAnError) {
  cpu::Conv2dShape s;
  s.batch = 1, s.height = s.width = 2, s.c_in = 1, s.c_out = 4;
  std::vector<float> x(4), w(4), y(16);
  EXPECT_NE(test::error_of([&] { cpu::conv2d_fused_f32(s, x.data(), w.data(), y.data(), 3, {}, nullptr); })
                .find("row stride"),
            std::string::npos);
}

}  // namespace
}  // namespace hl
