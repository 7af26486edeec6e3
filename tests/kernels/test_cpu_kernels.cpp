// CPU kernels against naive double-precision references written independently here.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/common/half.h"
#include "kernels/cpu/cast.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/reduce.h"
#include "kernels/cpu/transpose.h"
#include "support/test_support.h"

namespace hl {
namespace {

using test::expect_close;
using test::random_floats;

TEST(CpuElementwise, MatchDoubleFormulas) {
  for (int64_t n : {0, 1, 7, 1000, 4099}) {
    auto a = random_floats(n, 1, -6, 6), b = random_floats(n, 2, -6, 6);
    std::vector<float> y(n), ref(n);
    auto check = [&](const char* what) { expect_close(y, ref, 1e-6, what); };

    cpu::add_f32(a.data(), b.data(), y.data(), n);
    for (int64_t i = 0; i < n; ++i) ref[i] = static_cast<float>(double(a[i]) + b[i]);
    check("add");
    cpu::mul_f32(a.data(), b.data(), y.data(), n);
    for (int64_t i = 0; i < n; ++i) ref[i] = static_cast<float>(double(a[i]) * b[i]);
    check("mul");
    cpu::scale_f32(a.data(), -0.75f, y.data(), n);
    for (int64_t i = 0; i < n; ++i) ref[i] = static_cast<float>(-0.75 * a[i]);
    check("scale");
    cpu::relu_f32(a.data(), y.data(), n);
    for (int64_t i = 0; i < n; ++i) ref[i] = a[i] > 0 ? a[i] : 0.0f;
    check("relu");
    cpu::sigmoid_f32(a.data(), y.data(), n);
    for (int64_t i = 0; i < n; ++i) ref[i] = static_cast<float>(1.0 / (1.0 + std::exp(-double(a[i]))));
    check("sigmoid");
    cpu::tanh_f32(a.data(), y.data(), n);
    for (int64_t i = 0; i < n; ++i) ref[i] = static_cast<float>(std::tanh(double(a[i])));
    check("tanh");
  }
}

TEST(CpuElementwise, ExtremesStayFinite) {
  const float big = 1e30f;
  std::vector<float> x = {-big, -100.0f, 100.0f, big};
  std::vector<float> y(4);
  cpu::sigmoid_f32(x.data(), y.data(), 4);
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_GE(y[1], 0.0f);
  EXPECT_EQ(y[2], 1.0f);
  EXPECT_EQ(y[3], 1.0f);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  float r;
  cpu::relu_f32(&nan, &r, 1);
  EXPECT_TRUE(std::isnan(r)) << "relu propagates NaN, as PyTorch does";
}

struct ReduceCase {
  int64_t outer, n, inner;
};

TEST(CpuReduce, SumMeanMaxAlongEveryPosition) {
  for (ReduceCase c : {ReduceCase{1, 1, 1}, {3, 5, 1}, {1, 1000, 1}, {2, 17, 9}, {4, 1, 33}, {1, 100000, 2}}) {
    const int64_t total = c.outer * c.n * c.inner;
    auto x = random_floats(total, 9, -3, 5);
    std::vector<float> sum(c.outer * c.inner), mean(sum.size()), mx(sum.size());
    std::vector<float> rsum(sum.size()), rmean(sum.size()), rmax(sum.size());
    cpu::sum_dim_f32(x.data(), sum.data(), c.outer, c.n, c.inner);
    cpu::mean_dim_f32(x.data(), mean.data(), c.outer, c.n, c.inner);
    cpu::max_dim_f32(x.data(), mx.data(), c.outer, c.n, c.inner);
    for (int64_t o = 0; o < c.outer; ++o)
      for (int64_t j = 0; j < c.inner; ++j) {
        double s = 0, m = -INFINITY;
        for (int64_t r = 0; r < c.n; ++r) {
          const double v = x[(o * c.n + r) * c.inner + j];
          s += v;
          m = std::max(m, v);
        }
        rsum[o * c.inner + j] = static_cast<float>(s);
        rmean[o * c.inner + j] = static_cast<float>(s / c.n);
        rmax[o * c.inner + j] = static_cast<float>(m);
      }
    const std::string shape = "[" + std::to_string(c.outer) + "," + std::to_string(c.n) + "," + std::to_string(c.inner) + "]";
    expect_close(sum, rsum, 1e-6, "sum " + shape);
    expect_close(mean, rmean, 1e-6, "mean " + shape);
    EXPECT_EQ(mx, rmax) << "max " << shape;
  }
}

TEST(CpuReduce, MaxPropagatesNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> x = {1, nan, 3, 2, 5, 4};  // [1, 3, 2]: columns {1,3,5} and {nan,2,4}
  std::vector<float> y(2);
  cpu::max_dim_f32(x.data(), y.data(), 1, 3, 2);
  EXPECT_EQ(y[0], 5.0f);
  EXPECT_TRUE(std::isnan(y[1]));
}

TEST(CpuTranspose, IndexMathForEveryElementSize) {
  for (size_t es : {1, 2, 4, 8}) {
    const int64_t batch = 3, rows = 37, cols = 65;
    std::vector<uint8_t> x(batch * rows * cols * es), y(x.size(), 0xAB);
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<uint8_t>(i * 31 + 7);
    cpu::transpose(x.data(), y.data(), batch, rows, cols, es);
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c)
          ASSERT_EQ(0, std::memcmp(&y[((b * cols + c) * rows + r) * es], &x[((b * rows + r) * cols + c) * es], es))
              << "element size " << es << " at " << b << "," << r << "," << c;
  }
}

// C = alpha op(A) op(B) + beta C by the definition, in double.
std::vector<float> naive_gemm(const GemmShape& s, const std::vector<float>& a, const std::vector<float>& b,
                              const std::vector<float>& c0) {
  std::vector<float> c = c0;
  for (int64_t bi = 0; bi < s.batch; ++bi)
    for (int64_t i = 0; i < s.m; ++i)
      for (int64_t j = 0; j < s.n; ++j) {
        double acc = 0;
        for (int64_t p = 0; p < s.k; ++p) {
          const double av = s.trans_a ? a[bi * s.stride_a + p * s.m + i] : a[bi * s.stride_a + i * s.k + p];
          const double bv = s.trans_b ? b[bi * s.stride_b + j * s.k + p] : b[bi * s.stride_b + p * s.n + j];
          acc += av * bv;
        }
        float& out = c[bi * s.stride_c + i * s.n + j];
        out = static_cast<float>(s.alpha * acc + (s.beta == 0 ? 0.0 : s.beta * out));
      }
  return c;
}

TEST(CpuGemm, AllTransposesBatchesAndScalars) {
  uint32_t seed = 100;
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (auto [m, n, k] : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1}, {5, 3, 7}, {64, 33, 129}, {2, 70, 1}})
        for (bool shared_b : {false, true}) {
          GemmShape s;
          s.batch = 3;
          s.m = m, s.n = n, s.k = k;
          s.trans_a = ta, s.trans_b = tb;
          s.alpha = 0.5f, s.beta = shared_b ? 0.0f : -2.0f;
          s.stride_a = m * k, s.stride_b = shared_b ? 0 : k * n, s.stride_c = m * n;
          auto a = random_floats(s.batch * m * k, ++seed), b = random_floats(shared_b ? k * n : s.batch * k * n, ++seed);
          auto c = random_floats(s.batch * m * n, ++seed);
          auto ref = naive_gemm(s, a, b, c);
          cpu::gemm_f32(s, a.data(), b.data(), c.data());
          expect_close(c, ref, 1e-5,
                       "gemm m=" + std::to_string(m) + " n=" + std::to_string(n) + " k=" + std::to_string(k) +
                           " ta=" + std::to_string(ta) + " tb=" + std::to_string(tb) + " shared_b=" + std::to_string(shared_b));
        }
}

// Decodes an f16 bit pattern by the IEEE 754 definition, in double.
double f16_by_definition(uint16_t h) {
  const int sign = (h >> 15) ? -1 : 1, exp = (h >> 10) & 31, mant = h & 1023;
  if (exp == 31) return mant ? NAN : sign * INFINITY;
  if (exp == 0) return sign * std::ldexp(mant, -24);
  return sign * std::ldexp(1024 + mant, exp - 25);
}

TEST(CpuCast, EveryF16PatternDecodesByDefinition) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float got = f16_bits_to_f32(static_cast<uint16_t>(h));
    const double want = f16_by_definition(static_cast<uint16_t>(h));
    if (std::isnan(want)) {
      ASSERT_TRUE(std::isnan(got)) << std::hex << h;
    } else {
      ASSERT_EQ(static_cast<double>(got), want) << std::hex << h;
    }
    // Encoding a decoded value gives the pattern back (NaN payloads aside).
    if (!std::isnan(want)) {
      ASSERT_EQ(f32_to_f16_bits(got), h) << std::hex << h;
    }
  }
}

TEST(CpuCast, F16RoundsToNearestEven) {
  // 1 + 2^-11 is halfway between 1 and the next f16 (1 + 2^-10): ties to even -> 1.
  EXPECT_EQ(f32_to_f16_bits(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  // 1 + 3*2^-11 is halfway between 1+2^-10 (odd) and 1+2^-9 (even) -> 1+2^-9.
  EXPECT_EQ(f32_to_f16_bits(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  EXPECT_EQ(f32_to_f16_bits(65504.0f), 0x7bff);      // largest finite
  EXPECT_EQ(f32_to_f16_bits(65519.0f), 0x7bff);      // below the halfway point to 2^16
  EXPECT_EQ(f32_to_f16_bits(65520.0f), 0x7c00);      // halfway: rounds to even = infinity
  EXPECT_EQ(f32_to_f16_bits(std::ldexp(1.0f, -24)), 0x0001);      // smallest subnormal
  EXPECT_EQ(f32_to_f16_bits(std::ldexp(1.0f, -25)), 0x0000);      // halfway to 0: even
  EXPECT_EQ(f32_to_f16_bits(std::ldexp(1.5f, -25)), 0x0001);      // above halfway
  EXPECT_EQ(f32_to_f16_bits(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_f16_bits(INFINITY), 0x7c00);
  EXPECT_EQ(f32_to_f16_bits(NAN) & 0x7c00, 0x7c00);
  EXPECT_NE(f32_to_f16_bits(NAN) & 0x03ff, 0);
}

TEST(CpuCast, Bf16RoundsToNearestEven) {
  // bf16 keeps the top 16 bits of an f32; compare against rounding done in double.
  auto x = random_floats(10000, 77, -1e6f, 1e6f);
  std::vector<uint16_t> h(x.size());
  std::vector<float> back(x.size());
  cpu::f32_to_bf16(x.data(), h.data(), static_cast<int64_t>(x.size()));
  cpu::bf16_to_f32(h.data(), back.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    // The nearest bf16 neighbours of x: truncation and truncation + 1 ulp.
    uint32_t u;
    std::memcpy(&u, &x[i], 4);
    const float lo = bf16_bits_to_f32(static_cast<uint16_t>(u >> 16));
    const float hi = bf16_bits_to_f32(static_cast<uint16_t>((u >> 16) + 1));
    const double dlo = std::fabs(double(x[i]) - lo), dhi = std::fabs(double(x[i]) - hi);
    const float want = dlo < dhi ? lo : dhi < dlo ? hi : (((u >> 16) & 1) ? hi : lo);
    ASSERT_EQ(back[i], want) << x[i];
  }
}

TEST(CpuCast, IntegersToF32) {
  const int32_t i32[] = {-5, 0, 16777217};
  const int64_t i64[] = {-1, 1LL << 40};
  const uint8_t u8[] = {0, 255};
  float y[3];
  cpu::i32_to_f32(i32, y, 3);
  EXPECT_EQ(y[0], -5.0f);
  EXPECT_EQ(y[2], 16777216.0f);  // nearest f32
  cpu::i64_to_f32(i64, y, 2);
  EXPECT_EQ(y[1], std::ldexp(1.0f, 40));
  cpu::u8_to_f32(u8, y, 2);
  EXPECT_EQ(y[1], 255.0f);
}

}  // namespace
}  // namespace hl
