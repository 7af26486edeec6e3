// Philox4x32-10 against the known-answer vectors published with Random123
// (kat_vectors: philox4x32 10 rounds), and the stream helpers built on it.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/common/philox.h"
#include "kernels/cpu/philox_fill.h"
#include "kernels/cpu/random.h"

namespace hl {
namespace {

struct Kat {
  Philox4 ctr;
  uint32_t k0, k1;
  Philox4 expected;
};

TEST(Philox, Random123KnownAnswers) {
  const Kat kats[] = {
      {{{0, 0, 0, 0}}, 0, 0, {{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}}},
      {{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}},
       0xffffffffu,
       0xffffffffu,
       {{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}}},
      {{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}},
       0xa4093822u,
       0x299f31d0u,
       {{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}}},
  };
  for (const Kat& k : kats) {
    Philox4 r = philox4x32_10(k.ctr, k.k0, k.k1);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(r.v[i], k.expected.v[i]) << "word " << i;
  }
}

TEST(Philox, WordStreamIsCounterBlocks) {
  // Words 4b..4b+3 are the block for counter b with the seed as key.
  const uint64_t seed = 0x0123456789abcdefULL;
  for (uint64_t block : {0ULL, 1ULL, 0x1ffffffffULL}) {
    Philox4 c{{static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32), 0, 0}};
    Philox4 r = philox4x32_10(c, 0x89abcdefu, 0x01234567u);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(philox_word(seed, 4 * block + i), r.v[i]);
  }
}

TEST(Random, UniformSlicesAreIndependentOfWhereTheyStart) {
  std::vector<float> whole(1000), tail(400);
  cpu::uniform_f32(7, 0, whole.data(), 1000, -2.0f, 3.0f);
  cpu::uniform_f32(7, 600, tail.data(), 400, -2.0f, 3.0f);
  for (int i = 0; i < 400; ++i) EXPECT_EQ(whole[600 + i], tail[i]);
}

TEST(Random, UniformRangeAndMoments) {
  const int n = 200000;
  std::vector<float> u(n);
  cpu::uniform_f32(42, 0, u.data(), n, -1.0f, 3.0f);
  double sum = 0, sq = 0;
  for (float x : u) {
    ASSERT_GT(x, -1.0f);
    ASSERT_LE(x, 3.0f);
    sum += x;
    sq += static_cast<double>(x) * x;
  }
  const double mean = sum / n, var = sq / n - mean * mean;
  // Uniform(-1, 3): mean 1, variance 16/12. Standard error of the mean is
  // sqrt(4/3 / n) ~ 0.0026: 5 sigma bounds.
  EXPECT_NEAR(mean, 1.0, 0.013);
  EXPECT_NEAR(var, 16.0 / 12.0, 0.02);
}

TEST(Random, NormalMoments) {
  const int n = 200000;
  std::vector<float> z(n);
  cpu::normal_f32(3, 0, z.data(), n, 2.0f, 0.5f);
  double sum = 0, sq = 0, fourth = 0;
  for (float x : z) {
    ASSERT_TRUE(std::isfinite(x));
    sum += x;
  }
  const double mean = sum / n;
  for (float x : z) {
    const double d = x - mean;
    sq += d * d;
    fourth += d * d * d * d;
  }
  const double var = sq / n, kurtosis = (fourth / n) / (var * var);
  EXPECT_NEAR(mean, 2.0, 0.005);  // se = 0.5/sqrt(n) ~ 0.0011
  EXPECT_NEAR(var, 0.25, 0.004);
  EXPECT_NEAR(kurtosis, 3.0, 0.06);  // a normal's kurtosis is 3; a uniform's would be 1.8
}

TEST(Random, DifferentSeedsDiffer) {
  std::vector<float> a(64), b(64);
  cpu::uniform_f32(1, 0, a.data(), 64, 0, 1);
  cpu::uniform_f32(2, 0, b.data(), 64, 0, 1);
  int same = 0;
  for (int i = 0; i < 64; ++i) same += a[i] == b[i];
  EXPECT_LT(same, 2);
}

}  // namespace
}  // namespace hl

// philox_fill (16 blocks side by side, vectorised) against philox_word (the scalar form
// the Random123 vectors above check): every start alignment within a block, lengths that
// end inside a block, cross the 64-word lane group or are empty, and counters whose block
// number crosses 2^32 (the high counter word).
TEST(Philox, FillEqualsWordByWord) {
  const uint64_t seeds[] = {0, 42, 0xDEADBEEFCAFEF00Dull};
  const uint64_t bases[] = {0, 1000, (uint64_t(1) << 34) - 130};  // last: blocks around 2^32
  for (uint64_t seed : seeds)
    for (uint64_t base : bases)
      for (uint64_t shift = 0; shift < 8; ++shift)
        for (int64_t n : {0, 1, 3, 4, 5, 63, 64, 65, 130, 1000}) {
          std::vector<uint32_t> got(static_cast<size_t>(n) + 1, 0xA5A5A5A5u);
          hl::cpu::philox_fill(seed, base + shift, got.data(), n);
          for (int64_t i = 0; i < n; ++i)
            ASSERT_EQ(got[static_cast<size_t>(i)], hl::philox_word(seed, base + shift + static_cast<uint64_t>(i)))
                << "seed " << seed << " offset " << base + shift << " n " << n << " word " << i;
          EXPECT_EQ(got[static_cast<size_t>(n)], 0xA5A5A5A5u) << "wrote past the end";
        }
}
