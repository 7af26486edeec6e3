// kernels/cpu/cast_f16c.h against the IEEE definition of binary16, computed here from the
// bits (sign, 5-bit exponent, 10-bit fraction; subnormals 2^-24 x fraction): every f16 bit
// pattern, converted at every offset 0..8 (so each value passes through the 8-wide vector
// loop and through the scalar tail), and the non-finite flag against the f16 bits.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/cpu/cast_f16c.h"

namespace hl {
namespace {

// The value of an f16 by its definition (NaN for any NaN pattern).
double f16_value(uint16_t bits) {
  const int sign = bits >> 15, exponent = (bits >> 10) & 0x1f, fraction = bits & 0x3ff;
  const double s = sign ? -1.0 : 1.0;
  if (exponent == 0x1f) return fraction ? std::nan("") : s * INFINITY;
  if (exponent == 0) return s * std::ldexp(static_cast<double>(fraction), -24);
  return s * std::ldexp(1.0 + fraction / 1024.0, exponent - 15);
}

std::vector<uint16_t> every_pattern() {
  std::vector<uint16_t> bits(65536);
  for (uint32_t i = 0; i < bits.size(); ++i) bits[i] = static_cast<uint16_t>(i);
  return bits;
}

void expect_definition(const uint16_t* x, const float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const double want = f16_value(x[i]);
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(y[i])) << "bits " << x[i];
    } else {
      EXPECT_EQ(static_cast<double>(y[i]), want) << "bits " << x[i];
      EXPECT_EQ(std::signbit(y[i]), std::signbit(want)) << "bits " << x[i];  // -0 stays -0
    }
  }
}

TEST(CastF16c, EveryF16ValueAtEveryOffset) {
  const std::vector<uint16_t> bits = every_pattern();
  std::vector<float> y(bits.size());
  for (int64_t offset = 0; offset <= 8; ++offset) {
    const int64_t n = static_cast<int64_t>(bits.size()) - offset;
    cpu::f16_to_f32_fast(bits.data() + offset, y.data(), n);
    expect_definition(bits.data() + offset, y.data(), n);
    std::fill(y.begin(), y.end(), 0.0f);
    cpu::f16_to_f32_fast_any_non_finite(bits.data() + offset, y.data(), n);
    expect_definition(bits.data() + offset, y.data(), n);
  }
}

// One non-finite value (+inf, -inf, a quiet and a signalling NaN) at each position of a
// 13-value row (8 in the vector loop, 5 in the tail), among finite values that include the
// largest finite f16 (exponent 11110, so the flag must look at all five exponent bits).
TEST(CastF16c, TheFlagFindsEachNonFiniteValueInTheLoopAndInTheTail) {
  const uint16_t finite[] = {0x0000, 0x8000, 0x3c00, 0x7bff, 0xfbff, 0x0001, 0x03ff};
  const uint16_t bad[] = {0x7c00, 0xfc00, 0x7e00, 0x7c01};
  std::vector<uint16_t> row(13);
  std::vector<float> y(13);
  for (size_t i = 0; i < row.size(); ++i) row[i] = finite[i % 7];
  EXPECT_FALSE(cpu::f16_to_f32_fast_any_non_finite(row.data(), y.data(), 13));
  for (const uint16_t b : bad)
    for (size_t at = 0; at < row.size(); ++at) {
      std::vector<uint16_t> r = row;
      r[at] = b;
      EXPECT_TRUE(cpu::f16_to_f32_fast_any_non_finite(r.data(), y.data(), 13)) << "bits " << b << " at " << at;
      EXPECT_FALSE(cpu::f16_to_f32_fast_any_non_finite(r.data(), y.data(), static_cast<int64_t>(at)))
          << "only the values before it";
    }
}

}  // namespace
}  // namespace hl
