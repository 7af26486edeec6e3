// The tape's rules (engine/autograd/variable.h): reverse order over a shared
// subexpression, accumulation across backward() calls for leaves, no recording under
// NoGradGuard, constants get no gradient, clear errors. Expected values are worked out
// by hand from the formulas.
#include <gtest/gtest.h>

#include "engine/autograd/autograd.h"

namespace hl {
namespace {

using ag::Variable;

Variable leaf(std::vector<float> v, bool grad = true) {
  const int64_t n = static_cast<int64_t>(v.size());
  return Variable(Tensor::from_vector(Shape{n}, v), grad);
}

TEST(Tape, DiamondGraphSumsBothPaths) {
  // L = sum(u * u + u), u = 3x: dL/dx = 3 (2u + 1) = 18x + 3.
  Variable x = leaf({1.0f, -2.0f});
  Variable u = ag::scale(x, 3.0f);
  Variable l = ag::sum_all(ag::add(ag::mul(u, u), u));
  EXPECT_FLOAT_EQ(l.value().data<float>()[0], 9 + 3 + 36 - 6);
  l.backward();
  EXPECT_FLOAT_EQ(x.grad().data<float>()[0], 21.0f);
  EXPECT_FLOAT_EQ(x.grad().data<float>()[1], -33.0f);
}

TEST(Tape, LeafGradientsAccumulateUntilZeroGrad) {
  Variable w = leaf({2.0f});
  for (int i = 0; i < 3; ++i) ag::sum_all(ag::scale(w, 5.0f)).backward();
  EXPECT_FLOAT_EQ(w.grad().data<float>()[0], 15.0f);
  w.zero_grad();
  EXPECT_FALSE(w.grad().defined());
  ag::sum_all(ag::mul(w, w)).backward();
  EXPECT_FLOAT_EQ(w.grad().data<float>()[0], 4.0f);
}

TEST(Tape, IntermediateGradientsAreFreshEachCall) {
  Variable x = leaf({1.0f});
  Variable y = ag::scale(x, 2.0f);
  Variable l = ag::sum_all(y);
  l.backward();
  l.backward();  // same graph twice: the intermediate y restarts, the leaf x accumulates
  EXPECT_FLOAT_EQ(y.grad().data<float>()[0], 1.0f);
  EXPECT_FLOAT_EQ(x.grad().data<float>()[0], 4.0f);
}

TEST(Tape, ConstantsGetNoGradientAndNoNode) {
  Variable c = leaf({1.0f, 2.0f}, false);
  Variable x = leaf({3.0f, 4.0f});
  Variable y = ag::mul(c, c);
  EXPECT_FALSE(y.requires_grad());
  EXPECT_TRUE(y.is_leaf());
  ag::sum_all(ag::mul(c, x)).backward();
  EXPECT_FALSE(c.grad().defined());
  EXPECT_FLOAT_EQ(x.grad().data<float>()[1], 2.0f);
}

TEST(Tape, NoGradGuardRecordsNothing) {
  Variable x = leaf({1.0f});
  {
    ag::NoGradGuard guard;
    EXPECT_FALSE(ag::grad_enabled());
    Variable y = ag::scale(x, 2.0f);
    EXPECT_FALSE(y.requires_grad());
    EXPECT_THROW(y.backward(), Error);
  }
  EXPECT_TRUE(ag::grad_enabled());
  EXPECT_TRUE(ag::scale(x, 2.0f).requires_grad());
}

TEST(Tape, NonScalarNeedsASeed) {
  Variable x = leaf({1.0f, 2.0f});
  Variable y = ag::scale(x, 2.0f);
  EXPECT_THROW(y.backward(), Error);
  y.backward(Tensor::from_vector(Shape{2}, {1.0f, 10.0f}));
  EXPECT_FLOAT_EQ(x.grad().data<float>()[1], 20.0f);
  EXPECT_THROW(y.backward(Tensor::from_vector(Shape{3}, {1, 2, 3})), Error);
}

TEST(Tape, ShapeErrorsAreExceptions) {
  Variable a = leaf({1.0f, 2.0f});
  Variable b = leaf({1.0f, 2.0f, 3.0f});
  EXPECT_THROW(ag::add(a, b), Error);
  EXPECT_THROW(ag::narrow(a, 0, 1, 2), Error);
  EXPECT_THROW(ag::softmax(a, 1), Error);
  EXPECT_THROW(ag::concat({a, ag::reshape(b, {1, 3})}, 0), Error);
  EXPECT_THROW(ag::linear(a, ag::reshape(b, {3, 1}), Variable()), Error);
}

}  // namespace
}  // namespace hl
