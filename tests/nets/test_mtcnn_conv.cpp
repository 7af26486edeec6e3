// The CPU fast paths of MTCNN (nets/mtcnn_conv.h, IntegralImage in
// nets/mtcnn_boxes.h): P-Net's direct convolution with fused bias and PReLU
// against the formula computed here in double, on P-Net's four layer shapes and
// odd sizes (every tail of the register blocks), in every compiled version this
// CPU can run (baseline, AVX2, AVX-512); the summed-area resampling against the
// pixel-by-pixel one (itself equal bit for bit to PyTorch's
// F.interpolate(mode='area'): test_mtcnn_golden.cpp), bit for bit, for pyramid
// levels and crops, including windows too large for the table.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "nets/mtcnn_boxes.h"
#include "nets/mtcnn_conv.h"

namespace hl {
namespace {

std::vector<float> uniform(size_t n, std::mt19937& rng, float lo, float hi) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

struct ConvCase {
  int64_t k, c_in, c_out, h, w;
  bool prelu;
};

TEST(MtcnnConv, MatchesTheFormulaInDouble) {
  std::mt19937 rng(7);
  const ConvCase cases[] = {
      {3, 3, 10, 14, 17, true},  // P-Net conv1 (10 of 16 lanes), width tail of 8-pixel blocks
      {3, 10, 16, 9, 13, true},  // conv2
      {3, 16, 32, 7, 11, true},  // conv3, tail of 4-pixel blocks
      {1, 32, 6, 5, 9, false},   // the two heads as one 1x1 conv
      {3, 3, 8, 3, 3, true},     // one output pixel
      {2, 5, 20, 4, 6, false},   // other k, c_out between 16 and 32
  };
  for (const ConvCase& c : cases) {
    const auto weight = uniform(static_cast<size_t>(c.k * c.k * c.c_in * c.c_out), rng, -1, 1);
    const auto bias = uniform(static_cast<size_t>(c.c_out), rng, -1, 1);
    const auto alpha = uniform(static_cast<size_t>(c.c_out), rng, 0, 0.5f);
    const auto x = uniform(static_cast<size_t>(c.h * c.w * c.c_in), rng, -1, 1);
    const mtcnn::PackedConv packed =
        mtcnn::pack_conv(weight.data(), bias.data(), c.prelu ? alpha.data() : nullptr, c.k, c.c_in, c.c_out);
    const int64_t oh = c.h - c.k + 1, ow = c.w - c.k + 1;
    for (const mtcnn::ConvIsa isa :
         {mtcnn::ConvIsa::Best, mtcnn::ConvIsa::Baseline, mtcnn::ConvIsa::Avx2, mtcnn::ConvIsa::Avx512}) {
      if (!mtcnn::conv_isa_available(isa)) {
        std::printf("version %d: not on this CPU, not checked\n", static_cast<int>(isa));
        continue;
      }
      SCOPED_TRACE("version " + std::to_string(static_cast<int>(isa)));
      std::vector<float> y(static_cast<size_t>(oh * ow * c.c_out + 5), NAN);
      y.back() = 123.0f;  // past the output: must stay
      mtcnn::conv_valid_prelu(packed, x.data(), c.h, c.w, y.data(), isa);
      EXPECT_EQ(y.back(), 123.0f);
      int negatives = 0;
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox)
          for (int64_t o = 0; o < c.c_out; ++o) {
            double v = bias[o], magnitude = std::abs(bias[o]);
            for (int64_t ky = 0; ky < c.k; ++ky)
              for (int64_t kx = 0; kx < c.k; ++kx)
                for (int64_t i = 0; i < c.c_in; ++i) {
                  const double t = static_cast<double>(x[((oy + ky) * c.w + ox + kx) * c.c_in + i]) *
                                   weight[((ky * c.k + kx) * c.c_in + i) * c.c_out + o];
                  v += t;
                  magnitude += std::abs(t);
                }
            if (c.prelu && v < 0) {
              v *= alpha[o];
              ++negatives;
            }
            const float got = y[(oy * ow + ox) * c.c_out + o];
            // f32 sums of at most 145 terms in another order: a few ulps of
            // their magnitude.
            ASSERT_NEAR(got, v, 1e-6 * magnitude + 1e-7)
                << "k " << c.k << " c_in " << c.c_in << " c_out " << c.c_out << " at " << oy << "," << ox << "," << o;
          }
      if (c.prelu) {
        EXPECT_GT(negatives, 0) << "the PReLU's negative side was not exercised";
      }
    }
  }
}

TEST(MtcnnConv, RejectsShapesItCannotRun) {
  const std::vector<float> w(3 * 3 * 3 * 40, 0.0f), b(40, 0.0f);
  EXPECT_THROW(mtcnn::pack_conv(w.data(), b.data(), nullptr, 3, 3, 40), std::exception);
  const mtcnn::PackedConv c = mtcnn::pack_conv(w.data(), b.data(), nullptr, 3, 3, 10);
  std::vector<float> x(2 * 5 * 3), y(100);
  EXPECT_THROW(mtcnn::conv_valid_prelu(c, x.data(), 2, 5, y.data()), std::exception);
}

TEST(MtcnnIntegralImage, AreaResamplingEqualsThePixelSumsBitForBit) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> px(0, 255);
  struct Case {
    int64_t img_h, img_w, top, left, h, w, out_h, out_w;
  };
  const Case cases[] = {
      {37, 53, 0, 0, 37, 53, 23, 32},    // a pyramid level (scale 0.6)
      {37, 53, 0, 0, 37, 53, 12, 17},    // a smaller one
      {37, 53, 0, 0, 37, 53, 37, 53},    // scale 1
      {37, 53, 5, 9, 20, 31, 24, 24},    // an R-Net crop (upsampled in one axis)
      {37, 53, 0, 40, 37, 13, 48, 48},   // an O-Net crop at the right edge
      {600, 620, 0, 0, 600, 620, 2, 2},  // windows of 300 x 310 pixels: above
                                         // 2^24 / 255, added pixel by pixel
  };
  for (const Case& c : cases) {
    std::vector<uint8_t> img(static_cast<size_t>(c.img_h * c.img_w * 3));
    for (uint8_t& v : img) v = static_cast<uint8_t>(px(rng));
    if (&c == &cases[5]) std::fill(img.begin(), img.end(), uint8_t{255});  // the largest sums
    const mtcnn::IntegralImage ii(img.data(), c.img_h, c.img_w);
    std::vector<float> want(static_cast<size_t>(c.out_h * c.out_w * 3)), got(want.size());
    mtcnn::area_resize_normalise(img.data(), c.img_w, c.top, c.left, c.h, c.w, c.out_h, c.out_w, want.data());
    mtcnn::area_resize_normalise(ii, c.top, c.left, c.h, c.w, c.out_h, c.out_w, got.data());
    for (size_t i = 0; i < want.size(); ++i)
      ASSERT_EQ(got[i], want[i]) << c.img_h << "x" << c.img_w << " -> " << c.out_h << "x" << c.out_w << " at " << i;
  }
}

}  // namespace
}  // namespace hl
