// cpu::conv2d_nhwc (kernels/cpu/separable_conv.h: im2col by chunks of output rows + a blocked
// multiply-add loop, 1x1 stride-1 convs as one product) against a double-precision direct sum
// written here, with Keras's padding worked out in the test: odd sizes, stride 1 and 2 (and
// 2x1), 'same' and 'valid', 1x1, 3x3 and 3x5 kernels, cin/cout not multiples of 16 (the
// 8-column blocks' remainders), with and without bias, images large enough to take several
// im2col chunks, and a guard after y that must survive; cpu::depthwise_conv2d_nhwc (rows of
// taps without bounds tests) the same way.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/separable_conv.h"

namespace hl {
namespace {

constexpr float kSentinel = 12345.0f;

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(gen);
  return v;
}

// Keras/TensorFlow padding of one axis, independently of keras_pad: {out, pad before}.
std::pair<int64_t, int64_t> tf_pad(int64_t in, int64_t k, int64_t s, bool same) {
  if (!same) return {(in - k) / s + 1, 0};
  const int64_t out = (in + s - 1) / s;
  const int64_t total = std::max<int64_t>((out - 1) * s + k - in, 0);
  return {out, total / 2};
}

struct Case {
  int64_t h, w, cin, cout, kh, kw, sh, sw;
  bool same, bias;
};

std::string name(const Case& c) {
  return std::to_string(c.h) + "x" + std::to_string(c.w) + "x" + std::to_string(c.cin) + " -> " +
         std::to_string(c.cout) + " k" + std::to_string(c.kh) + "x" + std::to_string(c.kw) + " s" +
         std::to_string(c.sh) + "x" + std::to_string(c.sw) + (c.same ? " same" : " valid") + (c.bias ? " bias" : "");
}

void check(const Case& c, uint32_t seed) {
  SCOPED_TRACE(name(c));
  const auto [oh, top] = tf_pad(c.h, c.kh, c.sh, c.same);
  const auto [ow, left] = tf_pad(c.w, c.kw, c.sw, c.same);
  const std::vector<float> x = random_floats(static_cast<size_t>(c.h * c.w * c.cin), seed);
  const std::vector<float> k = random_floats(static_cast<size_t>(c.kh * c.kw * c.cin * c.cout), seed + 1);
  const std::vector<float> b = random_floats(static_cast<size_t>(c.cout), seed + 2);
  const size_t n = static_cast<size_t>(oh * ow * c.cout);
  std::vector<float> y(n + 64, kSentinel);
  cpu::conv2d_nhwc(x.data(), c.h, c.w, c.cin, k.data(), c.kh, c.kw, c.cout, c.bias ? b.data() : nullptr, c.sh, c.sw,
                   c.same, y.data(), oh, ow);
  for (size_t i = n; i < y.size(); ++i) ASSERT_EQ(y[i], kSentinel) << "guard " << i - n << " overwritten";
  int bad = 0;
  for (int64_t oy = 0; oy < oh; ++oy)
    for (int64_t ox = 0; ox < ow; ++ox)
      for (int64_t o = 0; o < c.cout; ++o) {
        double sum = c.bias ? b[static_cast<size_t>(o)] : 0.0, mag = std::abs(sum);
        for (int64_t ky = 0; ky < c.kh; ++ky)
          for (int64_t kx = 0; kx < c.kw; ++kx) {
            const int64_t iy = oy * c.sh + ky - top, ix = ox * c.sw + kx - left;
            if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;  // a zero of the padding
            for (int64_t i = 0; i < c.cin; ++i) {
              const double t = double(x[static_cast<size_t>((iy * c.w + ix) * c.cin + i)]) *
                               k[static_cast<size_t>(((ky * c.kw + kx) * c.cin + i) * c.cout + o)];
              sum += t;
              mag += std::abs(t);
            }
          }
        const float got = y[static_cast<size_t>((oy * ow + ox) * c.cout + o)];
        // f32 accumulation against f64: the error grows with the sum of |terms|.
        if (!(std::abs(got - sum) <= 1e-5 * mag + 1e-6) && ++bad <= 5)
          ADD_FAILURE() << "y[" << oy << "," << ox << "," << o << "] = " << got << ", expected " << sum;
      }
  EXPECT_EQ(bad, 0);
}

// cpu::depthwise_conv2d_nhwc (depth multiplier 1) against the same kind of direct sum.
void check_depthwise(const Case& c, uint32_t seed) {
  SCOPED_TRACE("depthwise " + name(c));
  const auto [oh, top] = tf_pad(c.h, c.kh, c.sh, c.same);
  const auto [ow, left] = tf_pad(c.w, c.kw, c.sw, c.same);
  const std::vector<float> x = random_floats(static_cast<size_t>(c.h * c.w * c.cin), seed);
  const std::vector<float> k = random_floats(static_cast<size_t>(c.kh * c.kw * c.cin), seed + 1);
  const size_t n = static_cast<size_t>(oh * ow * c.cin);
  std::vector<float> y(n + 64, kSentinel);
  cpu::depthwise_conv2d_nhwc(x.data(), c.h, c.w, c.cin, k.data(), c.kh, c.kw, c.sh, c.sw, c.same, y.data(), oh, ow);
  for (size_t i = n; i < y.size(); ++i) ASSERT_EQ(y[i], kSentinel) << "guard " << i - n << " overwritten";
  int bad = 0;
  for (int64_t oy = 0; oy < oh; ++oy)
    for (int64_t ox = 0; ox < ow; ++ox)
      for (int64_t ch = 0; ch < c.cin; ++ch) {
        double sum = 0.0, mag = 0.0;
        for (int64_t ky = 0; ky < c.kh; ++ky)
          for (int64_t kx = 0; kx < c.kw; ++kx) {
            const int64_t iy = oy * c.sh + ky - top, ix = ox * c.sw + kx - left;
            if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
            const double t = double(x[static_cast<size_t>((iy * c.w + ix) * c.cin + ch)]) *
                             k[static_cast<size_t>((ky * c.kw + kx) * c.cin + ch)];
            sum += t;
            mag += std::abs(t);
          }
        const float got = y[static_cast<size_t>((oy * ow + ox) * c.cin + ch)];
        if (!(std::abs(got - sum) <= 1e-5 * mag + 1e-6) && ++bad <= 5)
          ADD_FAILURE() << "y[" << oy << "," << ox << "," << ch << "] = " << got << ", expected " << sum;
      }
  EXPECT_EQ(bad, 0);
}

TEST(SeparableConvGemm, MatchesDirectSumOnOddShapes) {
  uint32_t seed = 1;
  for (int64_t kk : {1, 3})
    for (int64_t s : {1, 2})
      for (bool same : {true, false})
        for (bool bias : {true, false}) {
          check({7, 9, 5, 13, kk, kk, s, s, same, bias}, seed += 3);
          check({11, 6, 17, 3, kk, kk, s, s, same, bias}, seed += 3);
          check({3, 5, 1, 8, kk, kk, s, s, same, bias}, seed += 3);  // cin 1, like the net's first conv
        }
}

TEST(SeparableConvGemm, NonSquareKernelsAndStrides) {
  check({9, 10, 6, 7, 3, 5, 2, 1, true, true}, 101);
  check({9, 10, 6, 7, 3, 5, 1, 2, false, true}, 102);
  check({8, 8, 3, 5, 2, 2, 2, 2, true, false}, 103);  // even kernel: the extra pad goes after
}

TEST(SeparableConvGemm, ImagesOfSeveralChunks) {
  // ow * k = 37 * 207 floats per output row: 8 rows per im2col chunk, 5 chunks.
  check({37, 37, 23, 19, 3, 3, 1, 1, true, true}, 201);
  check({64, 64, 1, 8, 3, 3, 1, 1, false, true}, 202);    // mini-Xception's conv 1
  check({31, 31, 64, 128, 1, 1, 1, 1, true, true}, 203);  // pointwise: one GEMM
  check({31, 31, 64, 128, 1, 1, 2, 2, true, true}, 204);  // the residual 1x1 stride-2 conv
  // Small after large: the kept scratch is larger than needed and must not leak in.
  check({5, 5, 3, 4, 3, 3, 1, 1, true, true}, 205);
}

TEST(SeparableConvGemm, DepthwiseMatchesDirectSum) {
  uint32_t seed = 300;
  for (int64_t kk : {1, 3, 5})
    for (int64_t s : {1, 2, 3})
      for (bool same : {true, false}) {
        check_depthwise({7, 9, 13, 0, kk, kk, s, s, same, false}, seed += 2);
        check_depthwise({12, 5, 1, 0, kk, kk, s, s, same, false}, seed += 2);
      }
  check_depthwise({9, 10, 6, 0, 3, 5, 2, 1, true, false}, 340);
  check_depthwise({2, 2, 5, 0, 5, 5, 1, 1, true, false}, 341);  // kernel wider than the image
  check_depthwise({3, 3, 5, 0, 3, 3, 2, 2, true, false}, 342);
}

}  // namespace
}  // namespace hl
