// The tape's rules (engine/autograd/variable.h): reverse order over a shared
// subexpression, accumulation across backward() calls for leaves, no recording under
// NoGradGuard, constants get no gradient, clear errors. Expected values are worked out
// by hand from the formulas.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

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

// The tape holds gradients and nodes, not values: an intermediate value that no backward
// function captures (here z, under a ReLU whose backward reads its output) is freed when
// its last handle goes, before backward() (issue 18: a training step kept every
// pre-activation of the model until the step ended).
TEST(Tape, ValuesNoBackwardNeedsAreFreedAfterTheForward) {
  const Variable x = leaf({-1.0f, 0.5f, 2.0f, -3.0f});
  Variable y;
  std::weak_ptr<Storage> z_storage, y_storage;
  {
    const Variable z = ag::scale(x, 2.0f);
    z_storage = z.value().storage();
    y = ag::relu(z);
    y_storage = y.value().storage();
  }
  EXPECT_TRUE(z_storage.expired()) << "z is still held by the graph";
  EXPECT_FALSE(y_storage.expired());
  ag::sum_all(y).backward();  // dL/dx = 2 where x > 0, else 0
  const std::vector<float> want = {0.0f, 2.0f, 2.0f, 0.0f};
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(x.grad().data<float>()[i], want[i]) << "element " << i;
}

// backward_releasing_graph(): the leaves get exactly backward()'s gradients, the
// tensors the ops saved are freed by the time it returns although the graph's root is
// still alive (here y, which mul saved twice), the intermediate gradients are gone, and
// a second backward through the graph throws. backward() keeps them all.
TEST(Tape, ReleasingBackwardFreesWhatTheOpsSaved) {
  const std::vector<float> values = {-0.5f, -0.25f, 0.0f, 0.25f, 0.5f, 0.75f, 1.0f};
  for (const bool release : {false, true}) {
    const Variable x = leaf(values);
    Variable l, y;
    std::weak_ptr<Storage> y_storage;
    {
      const Variable yy = ag::relu(ag::scale(x, 2.0f));
      y_storage = yy.value().storage();
      l = ag::sum_all(ag::mul(yy, yy));  // L = sum relu(2x)^2: dL/dx = 8x where x > 0
      y = yy;
    }
    if (release) {
      l.backward_releasing_graph();
    } else {
      l.backward();
    }
    for (size_t i = 0; i < values.size(); ++i)
      EXPECT_EQ(x.grad().data<float>()[i], values[i] > 0 ? 8.0f * values[i] : 0.0f) << "element " << i;
    EXPECT_EQ(y.grad().defined(), !release) << "intermediate gradient";
    y = Variable();  // only the graph (the nodes reachable from l) may hold y's value now
    EXPECT_EQ(y_storage.expired(), release) << (release ? "released" : "kept") << " graph";
    if (release) {
      EXPECT_THROW(l.backward(), Error);
    }
  }
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
