// The 3x3x3 stride-1 SAME conv3d path (Winograd F(2x2, 3x3), kernels/cpu/conv3d_winograd.h)
// against a double-precision direct sum written out here from TensorFlow's SAME rule
// (pad 1 before and after on each axis for a 3-tap kernel at stride 1): odd and even
// sizes, depth 1, channel counts that are not multiples of the 16-lane blocks, a bias, a
// batch of 2, and 1 or 2 threads (which changes how output depths are chunked).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/conv3d.h"
#include "kernels/cpu/conv3d_winograd.h"
#include "kernels/cpu/parallel.h"

namespace hl {
namespace {

struct Case {
  int64_t batch, depth, height, width, c_in, c_out;
  int threads;
};

void expect_direct_sum(const Case& t) {
  cpu::set_num_threads(t.threads);
  cpu::Conv3dShape s;
  s.batch = t.batch, s.depth = t.depth, s.height = t.height, s.width = t.width, s.c_in = t.c_in, s.c_out = t.c_out;
  s.kd = s.kh = s.kw = 3;
  ASSERT_TRUE(cpu::conv3d_winograd_applies(s));
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(t.batch * t.depth * t.height * t.width * t.c_in));
  std::vector<float> w(static_cast<size_t>(27 * t.c_in * t.c_out)), b(static_cast<size_t>(t.c_out));
  for (float& v : x) v = u(rng);
  for (float& v : w) v = u(rng);
  for (float& v : b) v = u(rng);
  std::vector<float> y(static_cast<size_t>(t.batch * t.depth * t.height * t.width * t.c_out), NAN);
  cpu::conv3d_ndhwc_f32(s, x.data(), w.data(), b.data(), y.data());
  int64_t bad = 0;
  for (int64_t n = 0; n < t.batch; ++n)
    for (int64_t od = 0; od < t.depth; ++od)
      for (int64_t oh = 0; oh < t.height; ++oh)
        for (int64_t ow = 0; ow < t.width; ++ow)
          for (int64_t co = 0; co < t.c_out; ++co) {
            double sum = b[co], magnitude = std::fabs(b[co]);
            for (int64_t kd = 0; kd < 3; ++kd)
              for (int64_t kh = 0; kh < 3; ++kh)
                for (int64_t kw = 0; kw < 3; ++kw) {
                  const int64_t id = od - 1 + kd, ih = oh - 1 + kh, iw = ow - 1 + kw;
                  if (id < 0 || id >= t.depth || ih < 0 || ih >= t.height || iw < 0 || iw >= t.width) continue;
                  for (int64_t ci = 0; ci < t.c_in; ++ci) {
                    const double a = x[(((n * t.depth + id) * t.height + ih) * t.width + iw) * t.c_in + ci];
                    const double g = w[(((kd * 3 + kh) * 3 + kw) * t.c_in + ci) * t.c_out + co];
                    sum += a * g;
                    magnitude += std::fabs(a * g);
                  }
                }
            const float got = y[(((n * t.depth + od) * t.height + oh) * t.width + ow) * t.c_out + co];
            // f32 sums of up to 27 c_in terms: a few ulps of the sum of the terms' magnitudes.
            if (!(std::fabs(got - sum) <= 1e-5 * magnitude) && bad++ < 5)
              ADD_FAILURE() << "y[" << n << ", " << od << ", " << oh << ", " << ow << ", " << co << "] = " << got
                            << ", direct sum " << sum;
          }
  EXPECT_EQ(bad, 0);
  cpu::set_num_threads(1);
}

TEST(Conv3dWinograd, MatchesTheDirectSumOnOddAndEvenSizes) {
  expect_direct_sum({1, 5, 7, 9, 3, 20, 1});   // odd height and width: half tiles at the end
  expect_direct_sum({2, 4, 6, 4, 17, 5, 1});   // a batch, even sizes, c_in past one 16-lane block
  expect_direct_sum({1, 1, 1, 1, 2, 2, 1});    // one position: only the centre tap inside
  expect_direct_sum({1, 9, 5, 6, 16, 33, 2});  // two threads: output depths in several chunks
}

TEST(Conv3dWinograd, AppliesOnlyTo3x3x3Stride1Same) {
  cpu::Conv3dShape s;
  s.batch = s.depth = s.height = s.width = s.c_in = s.c_out = 1;
  s.kd = s.kh = s.kw = 3;
  EXPECT_TRUE(cpu::conv3d_winograd_applies(s));
  s.sh = 2;
  EXPECT_FALSE(cpu::conv3d_winograd_applies(s));
  s.sh = 1, s.same = false;
  EXPECT_FALSE(cpu::conv3d_winograd_applies(s));
  s.same = true, s.kw = 5;
  EXPECT_FALSE(cpu::conv3d_winograd_applies(s));
}

}  // namespace
}  // namespace hl
