// The op table on the CPU (tests/ops/op_table.h), two tests per row:
//   Forward: the f32 op through engine/autograd against the row's double reference
//     (row.cpu.forward, 1e-5 by default: DESIGN section 6 for f32 ops); where the CPU
//     kernel runs in double, its forward against the same reference within 1e-12.
//   Gradients: objective L = sum(seed * y) with a random seed; dL/dinput by central
//     finite differences of the double reference, sum(seed * (y(x + h) - y(x - h))) / 2h
//     with h = 1e-6 max(1, |x|) (row.fd_step), against the f32 backward of the tape
//     (row.cpu.grad) and, where the CPU kernel runs in double, against its double
//     backward within 1e-6, so that f32 rounding cannot hide a wrong formula.
// Errors are max|a - b| / max|b| over an input (over the elements differenced, for the
// gradients), printed for every check; the worst element is named on failure.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "ops/op_table.h"

namespace hl::optable {
namespace {

constexpr double kKernelF64ForwardTol = 1e-12;
constexpr double kKernelF64GradTol = 1e-6;

// max|got - want| / max|want| (absolute when want is all zero); NaN gives infinity.
double relative_error(const Vec& got, const Vec& want, const std::vector<size_t>& at, size_t* worst) {
  double max_diff = 0, max_ref = 0;
  *worst = at.empty() ? 0 : at[0];
  for (size_t i : at) {
    const double d = std::fabs(got[i] - want[i]);
    if (std::isnan(d)) {
      *worst = i;
      return std::numeric_limits<double>::infinity();
    }
    if (d > max_diff) max_diff = d, *worst = i;
    max_ref = std::max(max_ref, std::fabs(want[i]));
  }
  return max_ref > 0 ? max_diff / max_ref : max_diff;
}

std::vector<size_t> every_index(size_t n) {
  std::vector<size_t> at(n);
  for (size_t i = 0; i < n; ++i) at[i] = i;
  return at;
}

// All of [0, n) when n <= limit, else `limit` indices spread evenly, first and last included.
std::vector<size_t> sample_indices(size_t n, int64_t limit) {
  if (n <= static_cast<size_t>(limit) || limit < 2) return every_index(n);
  std::vector<size_t> at;
  for (int64_t j = 0; j < limit; ++j)
    at.push_back(static_cast<size_t>(std::llround(static_cast<double>(j) * static_cast<double>(n - 1) / static_cast<double>(limit - 1))));
  at.erase(std::unique(at.begin(), at.end()), at.end());
  return at;
}

void expect_close(const Vec& got, const Vec& want, const std::vector<size_t>& at, double tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what << ": sizes differ";
  size_t worst = 0;
  const double err = relative_error(got, want, at, &worst);
  std::printf("%s: relative error %.3g (tolerance %.3g)\n", what.c_str(), err, tol);
  EXPECT_LE(err, tol) << what << ": relative error " << err << " over " << at.size() << " elements; worst element ["
                      << worst << "]: " << got[worst] << ", expected " << want[worst];
}

class OpTable : public ::testing::TestWithParam<size_t> {
 protected:
  const OpRow& row() const { return op_table()[GetParam()]; }
};

TEST_P(OpTable, Forward) {
  const OpRow& r = row();
  const std::vector<Vec> values = draw_inputs(r, 1);
  const std::vector<ag::Variable> leaves = make_leaves(r, make_tensors(r, values, Device::cpu()));
  const ag::Variable y = r.op(leaves);
  const Vec want = r.reference(values);
  ASSERT_EQ(static_cast<size_t>(y.value().numel()), want.size()) << "output " << y.value().str();
  expect_close(to_doubles(y.value()), want, every_index(want.size()), r.cpu.forward, r.name + " f32 forward");
  if (r.kernel_f64)
    expect_close(r.kernel_f64(values, nullptr, nullptr), want, every_index(want.size()), kKernelF64ForwardTol,
                 r.name + " double kernel forward");
}

TEST_P(OpTable, Gradients) {
  const OpRow& r = row();
  std::vector<Vec> values = draw_inputs(r, 2);
  const std::vector<ag::Variable> leaves = make_leaves(r, make_tensors(r, values, Device::cpu()));
  const ag::Variable y = r.op(leaves);
  ASSERT_TRUE(y.requires_grad()) << "the op recorded no node";

  Vec seed(static_cast<size_t>(y.value().numel()));
  std::mt19937_64 gen(99);
  std::normal_distribution<double> normal;
  for (double& s : seed) s = static_cast<float>(normal(gen));
  y.backward(Tensor::from_vector(y.shape(), std::vector<float>(seed.begin(), seed.end())));

  std::vector<Vec> kernel_grads;
  if (r.kernel_f64) {
    r.kernel_f64(values, &seed, &kernel_grads);
    ASSERT_EQ(kernel_grads.size(), values.size()) << "the double kernel's gradients";
  }
  for (size_t k = 0; k < values.size(); ++k) {
    if (!r.inputs[k].grad) continue;
    const std::vector<size_t> at = sample_indices(values[k].size(), r.fd_elements);
    Vec numeric(values[k].size(), 0.0);
    for (size_t i : at) {
      const double x = values[k][i], h = r.fd_step * std::max(1.0, std::fabs(x));
      values[k][i] = x + h;
      const Vec up = r.reference(values);
      values[k][i] = x - h;
      const Vec down = r.reference(values);
      values[k][i] = x;
      // sum(seed * (up - down)) rather than the difference of two sums: outputs that do
      // not depend on this element cancel exactly instead of adding their rounding.
      double dl = 0;
      for (size_t j = 0; j < up.size(); ++j) dl += seed[j] * (up[j] - down[j]);
      numeric[i] = dl / (2 * h);
    }
    const std::string what = r.name + " input " + std::to_string(k);
    ASSERT_TRUE(leaves[k].grad().defined()) << what << ": no gradient arrived";
    expect_close(to_doubles(leaves[k].grad()), numeric, at, r.cpu.grad, what + ": f32 backward vs finite differences");
    if (r.kernel_f64)
      expect_close(kernel_grads[k], numeric, at, kKernelF64GradTol, what + ": double kernel backward vs finite differences");
  }
}

std::vector<size_t> row_indices() { return every_index(op_table().size()); }

INSTANTIATE_TEST_SUITE_P(Rows, OpTable, ::testing::ValuesIn(row_indices()),
                         [](const ::testing::TestParamInfo<size_t>& info) { return op_table()[info.param].name; });

}  // namespace
}  // namespace hl::optable
