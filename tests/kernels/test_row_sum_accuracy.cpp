// The error bound of the row sums (kernels/cpu/reduce.h, issue 18 item 12), on rows made
// to break it: long rows, magnitudes from 2^-60 to 2^60, heavy cancellation, and every
// tail length. The kernel adds 4 floats per lane in float (two roundings of u = 2^-24)
// and everything else in double, so for a row x of length n with exact sum S:
//   |sum_dim_f32(x) - S| <= 2u sum|x|  (the float partials)
//                         + (n/16 + 16) 2^-52 sum|x|  (the double adds, loosely)
//                         + u |S|  (the result's rounding to float).
// A float accumulator that ran along the row (PyTorch's cascade, or a plain float loop)
// would break it on the long rows by orders of magnitude. The exact S comes from a
// double-double (TwoSum) accumulation written here, accurate to ~n 2^-106 sum|x|.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/reduce.h"

namespace {

// sum of x in double-double: hi + lo, with TwoSum's exact error of each add kept in lo.
double exact_sum(const float* x, int64_t n) {
  double hi = 0.0, lo = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i];
    const double s = hi + v;
    const double bb = s - hi;
    const double err = (hi - (s - bb)) + (v - bb);
    hi = s;
    lo += err;
  }
  return hi + lo;
}

double sum_abs(const float* x, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += std::fabs(static_cast<double>(x[i]));
  return s;  // only scales the bound: its own rounding (~n 2^-53) does not matter here
}

double bound(double abs_sum, double exact, int64_t n) {
  const double u = std::ldexp(1.0, -24);
  return 2 * u * abs_sum + (static_cast<double>(n) / 16 + 16) * std::ldexp(1.0, -52) * abs_sum + u * std::fabs(exact);
}

// Checks sum_dim_f32 and mean_dim_f32 of x [rows, n] against the bound, row by row.
void expect_within_bound(const std::vector<float>& x, int64_t rows, int64_t n, const std::string& what) {
  std::vector<float> sum(static_cast<size_t>(rows)), mean(sum.size());
  hl::cpu::sum_dim_f32(x.data(), sum.data(), rows, n, 1);
  hl::cpu::mean_dim_f32(x.data(), mean.data(), rows, n, 1);
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x.data() + r * n;
    const double exact = exact_sum(row, n), abs_sum = sum_abs(row, n), b = bound(abs_sum, exact, n);
    const double dn = static_cast<double>(n);
    EXPECT_LE(std::fabs(sum[r] - exact), b) << what << " row " << r << " (n " << n << "): sum " << sum[r] << ", exact "
                                            << exact << ", sum|x| " << abs_sum;
    EXPECT_LE(std::fabs(mean[r] - exact / dn), b / dn) << what << " row " << r << " (n " << n << "): mean " << mean[r]
                                                       << ", exact " << exact / dn;
  }
}

// Long rows near 1 (a float accumulator along the row loses ~2^-7 per add once it passes
// 2^16), and one long row of uniform values.
TEST(RowSumAccuracy, LongRowsStayWithinTheBound) {
  const int64_t n = (int64_t(1) << 22) + 37;
  std::mt19937 gen(7);
  std::uniform_real_distribution<float> near_one(0.999f, 1.001f), uniform(-1.0f, 3.0f);
  std::vector<float> x(static_cast<size_t>(2 * n));
  for (int64_t i = 0; i < n; ++i) x[i] = near_one(gen);
  for (int64_t i = n; i < 2 * n; ++i) x[i] = uniform(gen);
  expect_within_bound(x, 2, n, "long");
}

// Magnitudes from 2^-60 to 2^60 in random order, both signs.
TEST(RowSumAccuracy, WideMagnitudesStayWithinTheBound) {
  const int64_t rows = 5, n = 100003;
  std::mt19937 gen(11);
  std::uniform_int_distribution<int> exponent(-60, 60), sign(0, 1);
  std::uniform_real_distribution<float> mantissa(1.0f, 2.0f);
  std::vector<float> x(static_cast<size_t>(rows * n));
  for (float& v : x) v = std::ldexp(mantissa(gen), exponent(gen)) * (sign(gen) ? 1.0f : -1.0f);
  expect_within_bound(x, rows, n, "wide");
}

// Cancellation: each large value has its negation somewhere in the row, so the exact sum
// is that of the small values alone (~1e-3 of sum |x|).
TEST(RowSumAccuracy, CancellingRowsStayWithinTheBound) {
  const int64_t rows = 3, n = 65536 + 64 * 5 + 17;
  std::mt19937 gen(13);
  std::uniform_real_distribution<float> big(1e3f, 1e4f), small(-1.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(rows * n));
  for (int64_t r = 0; r < rows; ++r) {
    float* row = x.data() + r * n;
    const int64_t pairs = n / 4;
    for (int64_t i = 0; i < pairs; ++i) row[i] = big(gen);
    for (int64_t i = 0; i < pairs; ++i) row[pairs + i] = -row[pairs - 1 - i];
    for (int64_t i = 2 * pairs; i < n; ++i) row[i] = small(gen);
    std::shuffle(row, row + n, gen);
  }
  expect_within_bound(x, rows, n, "cancelling");
}

// Every tail length after the 64-float steps, on short rows, in odd row counts (the
// kernel takes rows in pairs and the last one alone).
TEST(RowSumAccuracy, EveryTailLength) {
  for (int64_t n = 1; n <= 200; ++n) {
    const int64_t rows = 3;
    std::mt19937 gen(static_cast<uint32_t>(n));
    std::uniform_real_distribution<float> dist(-2.0f, 5.0f);
    std::vector<float> x(static_cast<size_t>(rows * n));
    for (float& v : x) v = dist(gen);
    expect_within_bound(x, rows, n, "tail");
  }
}

// A row gives the same bits whether it is summed in a pair or alone: three equal rows,
// of magnitudes 2^-20 to 2^20 so that the float partials round (any other order of adds
// would give other bits).
TEST(RowSumAccuracy, PairedAndLoneRowsGiveTheSameBits) {
  for (int64_t n : {63, 64, 1024, 1000, 4099}) {
    std::mt19937 gen(static_cast<uint32_t>(n));
    std::uniform_int_distribution<int> exponent(-20, 20);
    std::uniform_real_distribution<float> mantissa(-2.0f, 2.0f);
    std::vector<float> x(static_cast<size_t>(3 * n));
    for (int64_t i = 0; i < n; ++i) x[i] = x[n + i] = x[2 * n + i] = std::ldexp(mantissa(gen), exponent(gen));
    std::vector<float> sum(3);
    hl::cpu::sum_dim_f32(x.data(), sum.data(), 3, n, 1);
    EXPECT_EQ(sum[0], sum[1]) << "n " << n;
    EXPECT_EQ(sum[0], sum[2]) << "n " << n;
  }
}

}  // namespace
