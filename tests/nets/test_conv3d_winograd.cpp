// The 3x3x3 stride-1 SAME conv3d path (Winograd F(2x2, 3x3) and F(4x4, 3x3),
// kernels/cpu/conv3d_winograd.h) against a double-precision direct sum written out here
// from TensorFlow's SAME rule (pad 1 before and after on each axis for a 3-tap kernel at
// stride 1): odd and even sizes, sizes that are not multiples of the tile (2 or 4), depth
// 1, one position, channel counts that are not multiples of the 16-lane blocks, a bias, a
// batch of 2, and 1 or 2 threads (which changes how output depths are chunked); the
// prepared filter against the unprepared call (bit-equal), its ReLU, and a filter refused
// for another shape.
//
// Bounds, |y - direct sum| <= tol x magnitude with magnitude = |bias| + sum |x w| over the
// taps (the direct sum's own rounding scale):
// F(2x2): 1e-5 (as before this file knew F(4x4)): f32 sums of up to 27 c_in terms whose
//   transforms only add, subtract and halve.
// F(4x4): 36 x 1e-5. Why 36: each stage (input transform, filter transform, the products
//   summed over c_in, output transform) rounds relative to the magnitudes it combines,
//   so the error is bounded by u x (a few) x |A^T| ((|B^T| |d| |B|) (.) (|G| |g| |G^T|)) |A|
//   (absolute values elementwise) summed over the channels and depth taps. Along one axis,
//   with |d| = |g| = 1 (the worst case for a given magnitude), |A^T| ((|B^T| 1) (.) (|G| 1))
//   is (8, 8) for F(2, 3) and (16, 17, 24, 48) for F(4, 3), against 3 for the direct sum:
//   F(4, 3) amplifies 48 / 8 = 6 times more than F(2, 3) per axis, 36 over height and
//   width (Lavin & Gray's matrices; computed with numpy when this test was written).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/common/error.h"
#include "kernels/cpu/conv3d.h"
#include "kernels/cpu/conv3d_winograd.h"
#include "kernels/cpu/parallel.h"

namespace hl {
namespace {

constexpr double kTolF2 = 1e-5;
constexpr double kTolF4 = 36 * kTolF2;

struct Case {
  int64_t batch, depth, height, width, c_in, c_out;
  int threads;
};

cpu::Conv3dShape shape_of(const Case& t) {
  cpu::Conv3dShape s;
  s.batch = t.batch, s.depth = t.depth, s.height = t.height, s.width = t.width, s.c_in = t.c_in, s.c_out = t.c_out;
  s.kd = s.kh = s.kw = 3;
  return s;
}

struct Data {
  std::vector<float> x, w, b;
};

Data random_data(const Case& t) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  Data d;
  d.x.resize(static_cast<size_t>(t.batch * t.depth * t.height * t.width * t.c_in));
  d.w.resize(static_cast<size_t>(27 * t.c_in * t.c_out));
  d.b.resize(static_cast<size_t>(t.c_out));
  for (float& v : d.x) v = u(rng);
  for (float& v : d.w) v = u(rng);
  for (float& v : d.b) v = u(rng);
  return d;
}

// y (computed by the code under test) against the direct sum, within tol x magnitude.
void expect_direct_sum(const Case& t, const Data& d, const std::vector<float>& y, double tol, const std::string& what) {
  int64_t bad = 0;
  double worst = 0;  // the largest |error| / magnitude seen, reported when a check fails
  for (int64_t n = 0; n < t.batch; ++n)
    for (int64_t od = 0; od < t.depth; ++od)
      for (int64_t oh = 0; oh < t.height; ++oh)
        for (int64_t ow = 0; ow < t.width; ++ow)
          for (int64_t co = 0; co < t.c_out; ++co) {
            double sum = d.b[co], magnitude = std::fabs(d.b[co]);
            for (int64_t kd = 0; kd < 3; ++kd)
              for (int64_t kh = 0; kh < 3; ++kh)
                for (int64_t kw = 0; kw < 3; ++kw) {
                  const int64_t id = od - 1 + kd, ih = oh - 1 + kh, iw = ow - 1 + kw;
                  if (id < 0 || id >= t.depth || ih < 0 || ih >= t.height || iw < 0 || iw >= t.width) continue;
                  for (int64_t ci = 0; ci < t.c_in; ++ci) {
                    const double a = d.x[(((n * t.depth + id) * t.height + ih) * t.width + iw) * t.c_in + ci];
                    const double g = d.w[(((kd * 3 + kh) * 3 + kw) * t.c_in + ci) * t.c_out + co];
                    sum += a * g;
                    magnitude += std::fabs(a * g);
                  }
                }
            const float got = y[(((n * t.depth + od) * t.height + oh) * t.width + ow) * t.c_out + co];
            worst = std::max(worst, std::fabs(got - sum) / magnitude);
            if (!(std::fabs(got - sum) <= tol * magnitude) && bad++ < 5)
              ADD_FAILURE() << what << ": y[" << n << ", " << od << ", " << oh << ", " << ow << ", " << co
                            << "] = " << got << ", direct sum " << sum;
          }
  EXPECT_EQ(bad, 0) << what << ": largest |error| / magnitude " << worst << ", bound " << tol;
}

std::string name(const Case& t, cpu::WinogradTile tile) {
  return "F(" + std::to_string(static_cast<int>(tile)) + "x" + std::to_string(static_cast<int>(tile)) + ") " +
         std::to_string(t.batch) + "x" + std::to_string(t.depth) + "x" + std::to_string(t.height) + "x" +
         std::to_string(t.width) + "x" + std::to_string(t.c_in) + "->" + std::to_string(t.c_out) + ", " +
         std::to_string(t.threads) + " thread(s)";
}

// Both tile sizes forced through the prepared entry point, against the direct sum.
void expect_both_tiles(const Case& t) {
  cpu::set_num_threads(t.threads);
  const cpu::Conv3dShape s = shape_of(t);
  ASSERT_TRUE(cpu::conv3d_winograd_applies(s));
  const Data d = random_data(t);
  for (const cpu::WinogradTile tile : {cpu::WinogradTile::F2, cpu::WinogradTile::F4}) {
    const cpu::WinogradFilter f = cpu::prepare_winograd_filter(s, d.w.data(), tile);
    ASSERT_EQ(f.tile, tile);
    std::vector<float> y(static_cast<size_t>(t.batch * t.depth * t.height * t.width * t.c_out), NAN);
    cpu::conv3d_winograd_prepared_f32(s, f, d.x.data(), d.b.data(), y.data());
    expect_direct_sum(t, d, y, tile == cpu::WinogradTile::F4 ? kTolF4 : kTolF2, name(t, tile));
  }
  cpu::set_num_threads(1);
}

TEST(Conv3dWinograd, BothTilesMatchTheDirectSumOnOddAndEvenSizes) {
  expect_both_tiles({1, 5, 7, 9, 3, 20, 1});     // odd height and width: ragged tiles at the end
  expect_both_tiles({2, 4, 6, 4, 17, 5, 1});     // a batch, 6 = 4 + 2, c_in past one 16-lane block
  expect_both_tiles({1, 1, 1, 1, 2, 2, 1});      // one position: only the centre tap inside
  expect_both_tiles({1, 2, 2, 3, 5, 3, 1});      // smaller than one F(4x4) tile
  expect_both_tiles({1, 9, 5, 6, 16, 33, 2});    // two threads: output depths in several chunks
  expect_both_tiles({2, 3, 8, 12, 19, 18, 2});   // multiples of 4, a batch over two threads
  expect_both_tiles({1, 3, 13, 10, 33, 17, 1});  // 13 = 3 x 4 + 1, 10 = 2 x 4 + 2
}

TEST(Conv3dWinograd, ConvEntryPointMatchesTheDirectSum) {
  // conv3d_ndhwc_f32 picks the tile itself (winograd_tile_for): 12 x 12 takes F(4x4).
  const Case t{2, 4, 12, 12, 8, 24, 2};
  cpu::set_num_threads(t.threads);
  const cpu::Conv3dShape s = shape_of(t);
  ASSERT_EQ(cpu::winograd_tile_for(s), cpu::WinogradTile::F4);
  const Data d = random_data(t);
  std::vector<float> y(static_cast<size_t>(t.batch * t.depth * t.height * t.width * t.c_out), NAN);
  cpu::conv3d_ndhwc_f32(s, d.x.data(), d.w.data(), d.b.data(), y.data());
  expect_direct_sum(t, d, y, kTolF4, "conv3d_ndhwc_f32 12x12");
  cpu::set_num_threads(1);
}

TEST(Conv3dWinograd, TileChoiceFollowsTheGemmWork) {
  // F(4x4) multiplies 36 ceil(h/4) ceil(w/4) positions, F(2x2) 16 ceil(h/2) ceil(w/2).
  cpu::Conv3dShape s = shape_of({1, 4, 56, 56, 64, 64, 1});
  EXPECT_EQ(cpu::winograd_tile_for(s), cpu::WinogradTile::F4);  // 7,056 against 12,544
  s.height = s.width = 14;
  EXPECT_EQ(cpu::winograd_tile_for(s), cpu::WinogradTile::F4);  // 576 against 784
  s.height = s.width = 2;
  EXPECT_EQ(cpu::winograd_tile_for(s), cpu::WinogradTile::F2);  // 36 against 16
  s.height = s.width = 5;
  EXPECT_EQ(cpu::winograd_tile_for(s), cpu::WinogradTile::F2);  // 144 against 144: the smaller tile
}

TEST(Conv3dWinograd, PreparedFilterGivesTheUnpreparedResultBitForBit) {
  for (const Case& t : {Case{2, 5, 14, 14, 20, 16, 2}, Case{1, 3, 5, 7, 6, 9, 1}}) {
    cpu::set_num_threads(t.threads);
    const cpu::Conv3dShape s = shape_of(t);
    const Data d = random_data(t);
    const size_t ny = static_cast<size_t>(t.batch * t.depth * t.height * t.width * t.c_out);
    std::vector<float> unprepared(ny, NAN), prepared(ny, NAN), relu(ny, NAN);
    cpu::conv3d_winograd_f32(s, d.x.data(), d.w.data(), d.b.data(), unprepared.data());
    const cpu::WinogradFilter f = cpu::prepare_winograd_filter(s, d.w.data());
    EXPECT_EQ(f.tile, cpu::winograd_tile_for(s));
    cpu::conv3d_winograd_prepared_f32(s, f, d.x.data(), d.b.data(), prepared.data());
    cpu::conv3d_winograd_prepared_f32(s, f, d.x.data(), d.b.data(), relu.data(), /*relu=*/true);
    int64_t negative = 0;
    for (size_t i = 0; i < ny; ++i) {
      ASSERT_EQ(prepared[i], unprepared[i]) << "at " << i;  // the same operations in the same order
      ASSERT_EQ(relu[i], std::max(unprepared[i], 0.0f)) << "at " << i;
      negative += unprepared[i] < 0;
    }
    EXPECT_GT(negative, 0);  // the ReLU had something to clip
    // Another batch and depth fit the same filter.
    cpu::Conv3dShape deeper = s;
    deeper.batch = 1, deeper.depth = t.depth + 2;
    std::vector<float> x2(static_cast<size_t>(deeper.depth * t.height * t.width * t.c_in), 0.5f);
    std::vector<float> y2(static_cast<size_t>(deeper.depth * t.height * t.width * t.c_out));
    EXPECT_NO_THROW(cpu::conv3d_winograd_prepared_f32(deeper, f, x2.data(), nullptr, y2.data()));
  }
  cpu::set_num_threads(1);
}

TEST(Conv3dWinograd, PreparedFilterRefusesAnotherShape) {
  const Case t{1, 2, 8, 8, 4, 6, 1};
  const cpu::Conv3dShape s = shape_of(t);
  const Data d = random_data(t);
  const cpu::WinogradFilter f = cpu::prepare_winograd_filter(s, d.w.data());
  std::vector<float> big(4096, 0.0f), out(4096);
  const auto refused = [&](cpu::Conv3dShape other, const std::string& what) {
    try {
      cpu::conv3d_winograd_prepared_f32(other, f, big.data(), nullptr, out.data());
      ADD_FAILURE() << what << ": accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("prepared filter was made for c_in 4, c_out 6, height 8, width 8"),
                std::string::npos)
          << what << ": " << e.what();
    }
  };
  cpu::Conv3dShape other = s;
  other.c_in = 5;
  refused(other, "c_in");
  other = s, other.c_out = 5;
  refused(other, "c_out");
  other = s, other.height = 7;
  refused(other, "height");
  other = s, other.width = 9;
  refused(other, "width");
  other = s, other.sh = 2;
  refused(other, "stride");
  EXPECT_THROW(cpu::prepare_winograd_filter(other, d.w.data()), Error);  // not a Winograd shape
  EXPECT_THROW(cpu::prepare_winograd_filter(s, d.w.data(), static_cast<cpu::WinogradTile>(3)), Error);
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
