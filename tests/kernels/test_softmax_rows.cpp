// The vectorised f32 softmax over contiguous rows (kernels/cpu/softmax.cpp, inner == 1)
// against double-precision arithmetic done here, on row lengths around the lane width,
// and its special values: -inf entries get probability 0, a NaN anywhere makes the row
// NaN (what torch.softmax gives), huge spreads underflow cleanly to 0.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "kernels/cpu/softmax.h"

namespace {

TEST(SoftmaxRows, MatchDoubleOnAwkwardLengths) {
  for (int64_t n : {1, 2, 7, 8, 9, 15, 16, 17, 150, 385}) {
    const int64_t rows = 3;
    std::vector<float> x(static_cast<size_t>(rows * n)), y(x.size()), dy(x.size()), dx(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      x[i] = static_cast<float>(std::sin(0.7 * static_cast<double>(i)) * 6.0);
      dy[i] = static_cast<float>(std::cos(1.3 * static_cast<double>(i)));
    }
    hl::cpu::softmax_forward(x.data(), y.data(), rows, n, 1);
    hl::cpu::softmax_backward(y.data(), dy.data(), dx.data(), rows, n, 1);
    for (int64_t r = 0; r < rows; ++r) {
      double hi = -INFINITY, total = 0, dot = 0;
      for (int64_t j = 0; j < n; ++j) hi = std::max(hi, double(x[r * n + j]));
      std::vector<double> p(static_cast<size_t>(n));
      for (int64_t j = 0; j < n; ++j) total += p[j] = std::exp(double(x[r * n + j]) - hi);
      for (int64_t j = 0; j < n; ++j) p[j] /= total, dot += p[j] * dy[r * n + j];
      for (int64_t j = 0; j < n; ++j) {
        // Tolerance: x - max is rounded to float (relative error of e^(x - max) up to
        // |x - max| * 2^-24, as in any f32 softmax), plus ~4 ulp for e^, 1/total and the product.
        const double spread = std::fabs(double(x[r * n + j]) - hi);
        EXPECT_NEAR(y[r * n + j], p[j], p[j] * (4.8e-7 + spread * 6e-8)) << "n " << n << " row " << r << " j " << j;
        const double want = p[j] * (dy[r * n + j] - dot);
        EXPECT_NEAR(dx[r * n + j], want, 1e-6 * std::fabs(want) + 1e-7) << "backward, n " << n;
      }
    }
  }
}

TEST(SoftmaxRows, SpecialValues) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const int64_t n = 10;
  std::vector<float> x = {0, -inf, 1, 2, -inf, 3, 4, 5, 6, -200,  // row 0: -inf and a far outlier
                          0, 1,    2, 3, nan,  5, 6, 7, 8, 9};    // row 1: one NaN
  std::vector<float> y(x.size());
  hl::cpu::softmax_forward(x.data(), y.data(), 2, n, 1);
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_EQ(y[4], 0.0f);
  EXPECT_EQ(y[9], 0.0f);  // e^-206 underflows
  double total = 0;
  for (int64_t j = 0; j < n; ++j) total += y[j];
  EXPECT_NEAR(total, 1.0, 1e-6);
  for (int64_t j = n; j < 2 * n; ++j) EXPECT_TRUE(std::isnan(y[j])) << j;
}

}  // namespace
