// The Multisensory network's fused passes (kernels/cpu/multisensory_fused.h) against the
// plain loops written here (those MultisensoryCpu::run used before: a max-pool read as
// "every s-th element", an add, then the BatchNorm and ReLU as std::max), bit for bit, on
// one and two threads, with NaN, -0 and negative values in the inputs. Sizes are above the
// threads' grain (64K elements) so that two threads do split the work.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/cpu/multisensory_fused.h"
#include "kernels/cpu/parallel.h"

namespace hl {
namespace {

// Values in [-2, 2) from an integer hash, with NaN and -0 sprinkled in.
std::vector<float> values(int64_t n, uint64_t seed) {
  std::vector<float> v(static_cast<size_t>(n));
  for (uint64_t i = 0; i < v.size(); ++i) {
    const uint32_t h = static_cast<uint32_t>(((i + seed) * 2654435761ull) & 0xffffffffull);
    v[i] = static_cast<float>(h >> 8) / static_cast<float>(1 << 22) - 2.0f;
    if (h % 97 == 0) v[i] = -0.0f;
    if (h % 1013 == 0) v[i] = std::numeric_limits<float>::quiet_NaN();
  }
  return v;
}

void expect_same_bits(const std::vector<float>& got, const std::vector<float>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    uint32_t a, b;
    std::memcpy(&a, &got[i], 4);
    std::memcpy(&b, &want[i], 4);
    ASSERT_EQ(a, b) << what << " at " << i << ": " << got[i] << " vs " << want[i];
  }
}

class MultisensoryFused : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    before_ = cpu::num_threads();
    cpu::set_num_threads(GetParam());
  }
  void TearDown() override { cpu::set_num_threads(before_); }
  int before_ = 1;
};

TEST_P(MultisensoryFused, ReluIsStdMaxWithZero) {
  std::vector<float> x = values(300000, 1), want = x;
  for (float& f : want) f = std::max(f, 0.0f);  // keeps -0 and NaN (x < 0 is false for both)
  cpu::relu_max_f32(x.data(), static_cast<int64_t>(x.size()));
  expect_same_bits(x, want, "relu");
}

// y [d, h, w, c] = max((y + x[o s]) scale + shift, 0) for x [xd, xh, xw, c].
void add_bn_relu_case(int64_t xd, int64_t xh, int64_t xw, int64_t c, int64_t sd, int64_t sh, int64_t sw,
                      bool with_shortcut) {
  const int64_t d = (xd + sd - 1) / sd, h = (xh + sh - 1) / sh, w = (xw + sw - 1) / sw;
  const std::vector<float> x = values(xd * xh * xw * c, 2), scale = values(c, 3), shift = values(c, 4);
  std::vector<float> y = values(d * h * w * c, 5), want = y;
  for (int64_t od = 0; od < d; ++od)
    for (int64_t oh = 0; oh < h; ++oh)
      for (int64_t ow = 0; ow < w; ++ow)
        for (int64_t k = 0; k < c; ++k) {
          float& f = want[static_cast<size_t>(((od * h + oh) * w + ow) * c + k)];
          if (with_shortcut) f += x[static_cast<size_t>((((od * sd) * xh + oh * sh) * xw + ow * sw) * c + k)];
          f = std::max(f * scale[k] + shift[k], 0.0f);
        }
  const cpu::StridedShortcut s{with_shortcut ? x.data() : nullptr, xd, xh, xw, c, sd, sh, sw};
  cpu::add_bn_relu_f32(y.data(), d, h, w, c, s, scale.data(), shift.data());
  expect_same_bits(y, want, "add_bn_relu");
}

TEST_P(MultisensoryFused, AddBatchNormReluWithTheInputAsShortcut) { add_bn_relu_case(8, 24, 24, 64, 1, 1, 1, true); }

// Odd sizes: the last strided element of each axis is the input's last or next to last.
TEST_P(MultisensoryFused, AddBatchNormReluWithEverySthElementAsShortcut) {
  add_bn_relu_case(17, 47, 45, 64, 2, 2, 2, true);
}

TEST_P(MultisensoryFused, AddBatchNormReluAlongTimeAsTheSoundPathDoes) {
  add_bn_relu_case(1, 5475, 1, 128, 1, 4, 1, true);  // [1, n, 1, c], stride 4 along time
}

TEST_P(MultisensoryFused, BatchNormReluWithoutShortcut) { add_bn_relu_case(4, 16, 16, 96, 1, 1, 1, false); }

TEST_P(MultisensoryFused, MergeTakesTheFirstVideoAndLastSoundChannels) {
  const int64_t steps = 6, per_step = 28 * 28, positions = steps * per_step, half = 64, cv = 96, cs = 80;
  const std::vector<float> video = values(positions * cv, 6), sound = values(steps * cs, 7);
  const std::vector<float> scale = values(2 * half, 8), shift = values(2 * half, 9);
  std::vector<float> y = values(positions * 2 * half, 10), want = y;
  for (int64_t p = 0; p < positions; ++p)
    for (int64_t k = 0; k < 2 * half; ++k) {
      // The concatenation [video, sound tiled] and its first and last 64 channels.
      const float s = k < half ? video[static_cast<size_t>(p * cv + k)]
                               : sound[static_cast<size_t>((p / per_step) * cs + cs - 2 * half + k)];
      float& f = want[static_cast<size_t>(p * 2 * half + k)];
      f += s;
      f = std::max(f * scale[k] + shift[k], 0.0f);
    }
  cpu::merge_add_bn_relu_f32(y.data(), positions, half, video.data(), cv, sound.data(), cs, per_step, scale.data(),
                             shift.data());
  expect_same_bits(y, want, "merge");
}

TEST_P(MultisensoryFused, ConcatTilesTheSoundOverSpace) {
  const int64_t steps = 5, per_step = 14 * 14, positions = steps * per_step, cv = 128, cs = 72;
  const std::vector<float> video = values(positions * cv, 11), sound = values(steps * cs, 12);
  std::vector<float> want;
  for (int64_t p = 0; p < positions; ++p) {
    want.insert(want.end(), video.begin() + p * cv, video.begin() + (p + 1) * cv);
    want.insert(want.end(), sound.begin() + (p / per_step) * cs, sound.begin() + (p / per_step + 1) * cs);
  }
  std::vector<float> y(want.size(), 7.0f);
  cpu::concat_tiled_f32(video.data(), positions, cv, sound.data(), cs, per_step, y.data());
  expect_same_bits(y, want, "concat");
}

TEST_P(MultisensoryFused, ChannelMeanSumsInDoubleInPositionOrder) {
  const int64_t positions = 3136, c = 200;  // not a multiple of the 64-channel blocks
  std::vector<float> x = values(positions * c, 13);
  for (float& f : x)
    if (std::isnan(f)) f = 1.0f;
  x[5 * c + 3] = std::numeric_limits<float>::quiet_NaN();  // a NaN reaches its channel's mean only
  std::vector<float> want(static_cast<size_t>(c));
  for (int64_t k = 0; k < c; ++k) {
    double sum = 0.0;
    for (int64_t p = 0; p < positions; ++p) sum += x[static_cast<size_t>(p * c + k)];
    want[static_cast<size_t>(k)] = static_cast<float>(sum / static_cast<double>(positions));
  }
  std::vector<float> mean(static_cast<size_t>(c), 0.0f);
  cpu::channel_mean_f32(x.data(), positions, c, mean.data());
  expect_same_bits(mean, want, "mean");
  EXPECT_TRUE(std::isnan(mean[3]));
  EXPECT_FALSE(std::isnan(mean[4]));
}

INSTANTIATE_TEST_SUITE_P(Threads, MultisensoryFused, ::testing::Values(1, 2));

}  // namespace
}  // namespace hl
