// Initialisers and dropout: properties that pin them down without a reference
// framework (their random streams are ours, so PyTorch cannot produce the same numbers).
//   orthogonal: Q^T Q = I and R = Q^T A upper triangular with a positive diagonal for
//     the Philox normal matrix A, which characterises the sign-fixed QR uniquely.
//   glorot: inside the Keras limit, spread over it, deterministic.
//   dropout: keep rate, scale, determinism, identity in evaluation, gradient = mask.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "engine/autograd/autograd.h"
#include "engine/ops.h"
#include "engine/optim/init.h"

namespace hl {
namespace {

TEST(Init, OrthogonalIsTheSignFixedQrOfThePhiloxNormalMatrix) {
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{20, 80}, {80, 20}, {7, 7}}) {
    const Tensor q = optim::orthogonal(rows, cols, 42, 1000);
    const int64_t m = std::max(rows, cols), n = std::min(rows, cols);
    const Tensor a = ops::normal(Shape{m, n}, 42, 1000, 0.0f, 1.0f);
    // Q as [m, n] with orthonormal columns.
    auto qa = [&](int64_t r, int64_t c) { return static_cast<double>(rows >= cols ? q.data<float>()[r * cols + c] : q.data<float>()[c * cols + r]); };
    double worst_orth = 0, worst_lower = 0, min_diag = 1e30;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double qq = 0, r = 0;
        for (int64_t k = 0; k < m; ++k) {
          qq += qa(k, i) * qa(k, j);
          r += qa(k, i) * a.data<float>()[k * n + j];
        }
        worst_orth = std::max(worst_orth, std::fabs(qq - (i == j ? 1.0 : 0.0)));
        if (i > j) worst_lower = std::max(worst_lower, std::fabs(r));
        if (i == j) min_diag = std::min(min_diag, r);
      }
    EXPECT_LT(worst_orth, 1e-6) << rows << "x" << cols;
    EXPECT_LT(worst_lower, 1e-5) << rows << "x" << cols << ": R is not upper triangular";
    EXPECT_GT(min_diag, 0.0) << rows << "x" << cols << ": the sign fix is missing";
  }
}

TEST(Init, GlorotUniformKerasLimit) {
  const Tensor w = optim::glorot_uniform(Shape{3, 13, 64}, 7, 0);  // conv1d [k, c_in, c_out]
  const double limit = std::sqrt(6.0 / (3 * 13 + 3 * 64));
  double lo = 1, hi = -1;
  for (int64_t i = 0; i < w.numel(); ++i) {
    lo = std::min(lo, static_cast<double>(w.data<float>()[i]));
    hi = std::max(hi, static_cast<double>(w.data<float>()[i]));
  }
  EXPECT_GE(lo, -limit);
  EXPECT_LE(hi, limit);
  EXPECT_LT(lo, -0.95 * limit);
  EXPECT_GT(hi, 0.95 * limit);
  const Tensor again = optim::glorot_uniform(Shape{3, 13, 64}, 7, 0);
  EXPECT_EQ(std::memcmp(w.raw(), again.raw(), w.nbytes()), 0);
}

TEST(Init, LstmBiasForgetGateOne) {
  const Tensor b = optim::lstm_bias(3, true);
  const std::vector<float> want{0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0};
  for (int i = 0; i < 12; ++i) EXPECT_EQ(b.data<float>()[i], want[i]) << i;
  const Tensor z = optim::lstm_bias(3, false);
  for (int i = 0; i < 12; ++i) EXPECT_EQ(z.data<float>()[i], 0.0f);
}

TEST(Dropout, InvertedSeededAndIdentityInEvaluation) {
  const int64_t n = 200000;
  const float p = 0.3f;
  ag::Variable x(ops::uniform(Shape{n}, 1, 0, 0.5f, 1.5f), true);
  const ag::Variable y = ag::dropout(x, p, true, {123, 0});
  int64_t kept = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float xi = x.value().data<float>()[i], yi = y.value().data<float>()[i];
    if (yi != 0.0f) {
      ++kept;
      EXPECT_FLOAT_EQ(yi, xi / (1 - p));
    }
  }
  EXPECT_NEAR(static_cast<double>(kept) / n, 1 - p, 0.005);  // ~5 standard deviations
  // Same seed and offset, same mask; another offset, another mask.
  const ag::Variable y2 = ag::dropout(x, p, true, {123, 0});
  EXPECT_EQ(std::memcmp(y.value().raw(), y2.value().raw(), y.value().nbytes()), 0);
  const ag::Variable y3 = ag::dropout(x, p, true, {123, 1});
  EXPECT_NE(std::memcmp(y.value().raw(), y3.value().raw(), y.value().nbytes()), 0);
  // Gradient: the mask.
  ag::sum_all(y).backward();
  for (int64_t i = 0; i < 1000; ++i)
    EXPECT_FLOAT_EQ(x.grad().data<float>()[i], y.value().data<float>()[i] == 0.0f ? 0.0f : 1 / (1 - p));
  // Evaluation: the input itself.
  const ag::Variable e = ag::dropout(x, p, false, {123, 0});
  EXPECT_EQ(e.value().raw(), x.value().raw());
  EXPECT_THROW(ag::dropout(x, 1.0f, true, {1, 0}), Error);
}

}  // namespace
}  // namespace hl
