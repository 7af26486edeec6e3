// The direct conv3d path (kernels/cpu/conv3d_direct.h: the video stem, strided and
// sound convs) and conv3d_ndhwc_f32's choice of it, against a double-precision direct sum
// written out here from TensorFlow's padding rule (not from tf_padding): "SAME" gives
// out = ceil(in / s) and pads total = max((out - 1) s + k - in, 0) zeros, floor(total / 2)
// before and the rest (the odd one) AFTER; "VALID" gives out = floor((in - k) / s) + 1.
// Cases: odd and even sizes, stride 1 and 2 along each axis, the stem's 5x7x7 kernel and
// smaller ones (even kernels, a kernel longer than the input), c_in 1..4 and 20, c_out
// 16 / 64 / 80, batch 2, more than one task's worth of columns (> 240), the [N, 1, C]
// sound layout, 1 and 2 threads; shapes the fast path must not take (c_out not a multiple
// of 16, c_in 16 at stride 1) still right through the generic path.
//
// Bound: every output is a sum of n = (taps inside the input) + 1 terms (the bias and the
// products), each product exact in an f32 fused multiply-add or rounded once in im2col's
// GEMM, so f32 summation in any order is within gamma = 2n u / (1 - 2n u) (u = 2^-24; the
// 2 covers a product rounded before its add) of the sum of the terms' magnitudes
// (Higham, Accuracy and Stability, 3.1 and 3.5). The test uses that bound per output.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/common/error.h"
#include "kernels/cpu/conv3d.h"
#include "kernels/cpu/conv3d_direct.h"
#include "kernels/cpu/parallel.h"

namespace hl {
namespace {

struct Case {
  int64_t batch, depth, height, width, c_in, c_out;
  int64_t kd, kh, kw, sd, sh, sw;
  bool same;
  bool fast;  // conv3d_ndhwc_f32 should take the direct path (on an AVX-512F CPU)
};

// TensorFlow's rule along one axis, written out independently of tf_padding.
struct Axis {
  int64_t out, before;
};
Axis tf_axis(int64_t in, int64_t k, int64_t s, bool same) {
  if (!same) return {(in - k) / s + 1, 0};
  const int64_t out = (in + s - 1) / s;
  const int64_t total = std::max<int64_t>((out - 1) * s + k - in, 0);
  return {out, total / 2};
}

cpu::Conv3dShape shape_of(const Case& t) {
  cpu::Conv3dShape s;
  s.batch = t.batch, s.depth = t.depth, s.height = t.height, s.width = t.width, s.c_in = t.c_in, s.c_out = t.c_out;
  s.kd = t.kd, s.kh = t.kh, s.kw = t.kw, s.sd = t.sd, s.sh = t.sh, s.sw = t.sw, s.same = t.same;
  return s;
}

std::string name(const Case& t, int threads) {
  auto str = [](int64_t v) { return std::to_string(v); };
  return str(t.batch) + "x" + str(t.depth) + "x" + str(t.height) + "x" + str(t.width) + "x" + str(t.c_in) + " k" +
         str(t.kd) + "x" + str(t.kh) + "x" + str(t.kw) + " s" + str(t.sd) + "x" + str(t.sh) + "x" + str(t.sw) + " -> " +
         str(t.c_out) + (t.same ? " SAME, " : " VALID, ") + std::to_string(threads) + " thread(s)";
}

// y from conv3d_ndhwc_f32 against the direct sum, output by output; without a bias the
// kernel gets a null pointer and the sum starts from 0.
void expect_direct_sum(const Case& t, int threads, bool with_bias = true) {
  const std::string what = name(t, threads) + (with_bias ? "" : ", no bias");
  cpu::set_num_threads(threads);
  const cpu::Conv3dShape s = shape_of(t);
  EXPECT_EQ(cpu::conv3d_direct_applies(s), t.fast && cpu::conv3d_direct_supported()) << what;
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(t.batch * t.depth * t.height * t.width * t.c_in));
  std::vector<float> w(static_cast<size_t>(t.kd * t.kh * t.kw * t.c_in * t.c_out)), b(static_cast<size_t>(t.c_out));
  for (float& v : x) v = u(rng);
  for (float& v : w) v = u(rng);
  for (float& v : b) v = with_bias ? u(rng) : 0.0f;
  const Axis ad = tf_axis(t.depth, t.kd, t.sd, t.same), ah = tf_axis(t.height, t.kh, t.sh, t.same),
             aw = tf_axis(t.width, t.kw, t.sw, t.same);
  std::vector<float> y(static_cast<size_t>(t.batch * ad.out * ah.out * aw.out * t.c_out), NAN);
  cpu::conv3d_ndhwc_f32(s, x.data(), w.data(), with_bias ? b.data() : nullptr, y.data());

  constexpr double u32 = 1.0 / (1 << 24);  // f32 unit roundoff
  int64_t bad = 0;
  double worst = 0;  // the largest |error| / bound seen, reported when a check fails
  for (int64_t n = 0; n < t.batch; ++n)
    for (int64_t od = 0; od < ad.out; ++od)
      for (int64_t oh = 0; oh < ah.out; ++oh)
        for (int64_t ow = 0; ow < aw.out; ++ow)
          for (int64_t co = 0; co < t.c_out; ++co) {
            double sum = b[co], magnitude = std::fabs(b[co]);
            int64_t terms = 1;
            for (int64_t kd = 0; kd < t.kd; ++kd)
              for (int64_t kh = 0; kh < t.kh; ++kh)
                for (int64_t kw = 0; kw < t.kw; ++kw) {
                  const int64_t id = od * t.sd - ad.before + kd, ih = oh * t.sh - ah.before + kh,
                                iw = ow * t.sw - aw.before + kw;
                  if (id < 0 || id >= t.depth || ih < 0 || ih >= t.height || iw < 0 || iw >= t.width) continue;
                  for (int64_t ci = 0; ci < t.c_in; ++ci) {
                    const double a = x[(((n * t.depth + id) * t.height + ih) * t.width + iw) * t.c_in + ci];
                    const double g = w[(((kd * t.kh + kh) * t.kw + kw) * t.c_in + ci) * t.c_out + co];
                    sum += a * g;
                    magnitude += std::fabs(a * g);
                    ++terms;
                  }
                }
            const double gamma = 2 * terms * u32 / (1 - 2 * terms * u32);
            const double bound = gamma * magnitude;
            const float got = y[(((n * ad.out + od) * ah.out + oh) * aw.out + ow) * t.c_out + co];
            worst = std::max(worst, std::fabs(got - sum) / bound);
            if (!(std::fabs(got - sum) <= bound) && bad++ < 5)
              ADD_FAILURE() << what << ": y[" << n << ", " << od << ", " << oh << ", " << ow << ", " << co
                            << "] = " << got << ", direct sum " << sum << ", bound " << bound;
          }
  EXPECT_EQ(bad, 0) << what << ": largest |error| / bound " << worst;
}

void expect_cases(const std::vector<Case>& cases) {
  for (const Case& t : cases)
    for (int threads : {1, 2}) expect_direct_sum(t, threads);
  cpu::set_num_threads(1);
}

TEST(Conv3dDirect, StemKernelStride2OddPadAtTheEnd) {
  expect_cases({
      // im.conv1's kernel: depth 9 -> 5 (pad 2 | 2), height 17 -> 9 (3 | 3), width 16 -> 8 (2 | 3).
      {2, 9, 17, 16, 3, 64, 5, 7, 7, 2, 2, 2, true, true},
      // Even depth and height (pad 1 | 2 and 2 | 3), odd width, c_out 80 (a 64 block and a 16 one).
      {1, 8, 12, 13, 3, 80, 5, 7, 7, 2, 2, 2, true, true},
  });
}

TEST(Conv3dDirect, Stride1And2AlongEachAxis) {
  expect_cases({
      // Stride 1 everywhere, even kernels (total pad 1 or 3: the odd one after).
      {2, 4, 7, 9, 1, 16, 2, 4, 4, 1, 1, 1, true, true},
      {1, 6, 7, 10, 2, 80, 3, 5, 2, 1, 2, 1, true, true},
      {2, 5, 8, 11, 4, 16, 2, 3, 5, 2, 1, 2, true, true},
      {1, 7, 6, 9, 3, 64, 3, 1, 3, 1, 1, 2, true, true},
  });
}

TEST(Conv3dDirect, KernelLongerThanTheInputAndValid) {
  expect_cases({
      // Width 4 under a 7-wide kernel: every column mostly padding (pad 2 | 3 at stride 2).
      {1, 3, 5, 4, 4, 16, 3, 5, 7, 2, 2, 2, true, true},
      // VALID: no padding, outputs floor((in - k) / s) + 1.
      {2, 7, 11, 12, 3, 64, 3, 3, 3, 2, 2, 2, false, true},
  });
}

TEST(Conv3dDirect, StridedWithMoreInputChannels) {
  // The strided 3x3x3 convs (im.conv2_2_1: 64 -> 64 at stride 2), narrower.
  expect_cases({{1, 5, 9, 10, 20, 32, 3, 3, 3, 2, 2, 2, true, true}});
}

TEST(Conv3dDirect, SoundLayoutAlongTime) {
  // sf.conv1_1: [1, N, 1, 2] with a [65, 1] kernel at stride 4, read as [1, 1, N, 2]; 1,202
  // samples give 301 outputs (two tasks of columns), pad 31 | 32.
  expect_cases({{1, 1, 1202, 1, 2, 64, 1, 65, 1, 1, 4, 1, true, true}});
}

TEST(Conv3dDirect, ShapesTheFastPathLeavesToTheGenericOne) {
  expect_cases({
      // c_out not a multiple of 16.
      {2, 5, 9, 8, 3, 24, 5, 7, 7, 2, 2, 2, true, false},
      // 16 input channels at stride 1 (im2col + GEMM does well there).
      {1, 4, 6, 7, 16, 16, 3, 5, 5, 1, 1, 1, true, false},
      // 1x1x1 kernels.
      {1, 4, 6, 7, 3, 16, 1, 1, 1, 2, 2, 2, true, false},
  });
}

// Each output is one tile's sum in a fixed order whatever the thread count (the network's
// runs promise one thread's bits, tests/nets/test_multisensory_net.cpp).
TEST(Conv3dDirect, SameBitsAtAnyThreadCount) {
  for (const Case& t : {Case{2, 9, 17, 16, 3, 64, 5, 7, 7, 2, 2, 2, true, true},
                        Case{1, 1, 1202, 1, 2, 64, 1, 65, 1, 1, 4, 1, true, true}}) {
    const cpu::Conv3dShape s = shape_of(t);
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(t.batch * t.depth * t.height * t.width * t.c_in));
    std::vector<float> w(static_cast<size_t>(t.kd * t.kh * t.kw * t.c_in * t.c_out)), b(static_cast<size_t>(t.c_out));
    for (float& v : x) v = u(rng);
    for (float& v : w) v = u(rng);
    for (float& v : b) v = u(rng);
    const size_t out = static_cast<size_t>(t.batch * s.pad_d().out * s.pad_h().out * s.pad_w().out * t.c_out);
    std::vector<float> y1(out), y3(out);
    cpu::set_num_threads(1);
    cpu::conv3d_ndhwc_f32(s, x.data(), w.data(), b.data(), y1.data());
    cpu::set_num_threads(3);
    cpu::conv3d_ndhwc_f32(s, x.data(), w.data(), b.data(), y3.data());
    cpu::set_num_threads(1);
    EXPECT_EQ(y1, y3) << name(t, 3);
  }
}

TEST(Conv3dDirect, NoBias) {
  expect_direct_sum({1, 5, 9, 8, 3, 80, 5, 7, 7, 2, 2, 2, true, true}, 1, false);
}

TEST(Conv3dDirect, RefusesWhatItCannotDo) {
  if (!cpu::conv3d_direct_supported()) GTEST_SKIP() << "no AVX-512F: the direct kernel refuses every shape";
  const Case t{1, 2, 3, 4, 3, 24, 1, 1, 1, 1, 1, 1, true, false};
  std::vector<float> x(2 * 3 * 4 * 3), w(3 * 24), y(2 * 3 * 4 * 24);
  EXPECT_THROW(cpu::conv3d_direct_f32(shape_of(t), x.data(), w.data(), nullptr, y.data()), Error);
}

}  // namespace
}  // namespace hl
