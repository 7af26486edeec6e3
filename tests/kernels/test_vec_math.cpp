// kernels/cpu/vec_math.h against double-precision std::exp / std::tanh (an independent
// reference), measured in units in the last place of the float result, on a dense sweep
// of each function's range, and the special values (NaN, ±inf, ±0, huge arguments).
// Called through loops marked HL_SIMD_CLONES, as the kernels use them, so the
// vectorised code is what is checked (on this machine: the AVX-512 clone).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <vector>

#include "kernels/cpu/vec_math.h"

namespace {

using namespace hl::cpu;

HL_SIMD_CLONES void exp_all(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = vec::exp_nonpositive(x[i]);
}
HL_SIMD_CLONES void sigmoid_all(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = vec::sigmoid(x[i]);
}
HL_SIMD_CLONES void tanh_all(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = vec::tanh(x[i]);
}

// |got - want| in units of the spacing of floats at want (want rounded to float).
double ulps(float got, double want) {
  const float w = static_cast<float>(want);
  const double spacing = std::nextafter(std::fabs(w), std::numeric_limits<float>::infinity()) - std::fabs(w);
  return std::fabs(static_cast<double>(got) - want) / spacing;
}

std::vector<float> sweep(float lo, float hi, int n) {
  std::vector<float> x(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) x[static_cast<size_t>(i)] = lo + (hi - lo) * static_cast<float>(i) / static_cast<float>(n - 1);
  return x;
}

template <typename F, typename R>
double worst_ulps(F fn, R ref, const std::vector<float>& x, double min_magnitude = 0.0) {
  std::vector<float> y(x.size());
  fn(x.data(), y.data(), static_cast<int64_t>(x.size()));
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double want = ref(static_cast<double>(x[i]));
    if (std::fabs(want) < min_magnitude) continue;
    worst = std::max(worst, ulps(y[i], want));
  }
  return worst;
}

TEST(VecMath, ExpOfNonPositiveArgumentsWithinTwoUlps) {
  // Down to -87, where e^x is still a normal float.
  const double worst = worst_ulps(exp_all, [](double v) { return std::exp(v); }, sweep(-87.0f, 0.0f, 2000003));
  std::printf("exp: worst %.2f ulp\n", worst);
  EXPECT_LE(worst, 2.0);
}

TEST(VecMath, SigmoidWithinThreeUlps) {
  const auto ref = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
  const double worst = worst_ulps(sigmoid_all, ref, sweep(-80.0f, 30.0f, 2000003));
  std::printf("sigmoid: worst %.2f ulp\n", worst);
  EXPECT_LE(worst, 3.0);
}

TEST(VecMath, TanhWithinThreeUlps) {
  const auto ref = [](double v) { return std::tanh(v); };
  double worst = worst_ulps(tanh_all, ref, sweep(-12.0f, 12.0f, 2000003));
  // Small arguments, where tanh v ~ v and a cancelling formula would lose digits.
  worst = std::max(worst, worst_ulps(tanh_all, ref, sweep(-1e-3f, 1e-3f, 200001), 1e-30));
  std::printf("tanh: worst %.2f ulp\n", worst);
  EXPECT_LE(worst, 3.0);
}

TEST(VecMath, SpecialValues) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> x = {nan, -inf, inf, 0.0f, -0.0f, -1e30f, 1e30f, -200.0f};
  std::vector<float> s(x.size()), t(x.size()), e(x.size());
  sigmoid_all(x.data(), s.data(), static_cast<int64_t>(x.size()));
  tanh_all(x.data(), t.data(), static_cast<int64_t>(x.size()));
  EXPECT_TRUE(std::isnan(s[0]));
  EXPECT_TRUE(std::isnan(t[0]));
  EXPECT_EQ(s[1], 0.0f);
  EXPECT_EQ(s[2], 1.0f);
  EXPECT_EQ(t[1], -1.0f);
  EXPECT_EQ(t[2], 1.0f);
  EXPECT_EQ(s[3], 0.5f);
  EXPECT_EQ(s[4], 0.5f);
  EXPECT_EQ(t[3], 0.0f);
  EXPECT_EQ(t[4], 0.0f);
  EXPECT_EQ(s[5], 0.0f);
  EXPECT_EQ(s[6], 1.0f);
  EXPECT_EQ(t[5], -1.0f);
  EXPECT_EQ(t[6], 1.0f);
  EXPECT_EQ(s[7], 0.0f);  // e^-200 underflows to zero, as in PyTorch (no denormal)
  const std::vector<float> n = {nan, -inf, 0.0f, -1000.0f};
  exp_all(n.data(), e.data(), static_cast<int64_t>(n.size()));
  EXPECT_TRUE(std::isnan(e[0]));
  EXPECT_EQ(e[1], 0.0f);
  EXPECT_EQ(e[2], 1.0f);
  EXPECT_EQ(e[3], 0.0f);
}

}  // namespace
