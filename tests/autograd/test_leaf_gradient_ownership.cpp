// Who owns a leaf's first gradient (engine/autograd/variable.cpp, issue 18 item 12).
// A leaf takes the gradient tensor its op returned when nothing else holds that tensor's
// storage (no copy: the copy was ~12% of the LayerNorm benchmark), and a copy otherwise,
// so an optimizer that updates a leaf's gradient in place can never change another
// input's gradient, an intermediate gradient, the seed or a value. "Shares bytes" is
// checked both ways: the same storage, and a write through one tensor seen in the other.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "engine/autograd/autograd.h"
#include "engine/ops.h"

namespace hl {
namespace {

using ag::Variable;

Variable leaf(std::vector<float> v) {
  const int64_t n = static_cast<int64_t>(v.size());
  return Variable(Tensor::from_vector(Shape{n}, v), true);
}

// a and b share bytes: the same storage, or a write to a's first element shows in b.
bool shares_bytes(const Tensor& a, const Tensor& b) {
  if (a.storage() == b.storage()) return true;
  Tensor wa = a;
  const float saved = wa.data<float>()[0], other = b.data<float>()[0];
  wa.data<float>()[0] = saved + 12345.0f;
  const bool seen = b.data<float>()[0] != other;
  wa.data<float>()[0] = saved;
  return seen;
}

// One op whose backward returns `make(grad_out)` for its single input x.
Variable op_returning(const Variable& x, std::function<Tensor(const Tensor&)> make) {
  return ag::record("test_op", ops::scale(x.value(), 1.0f), {x},
                    [make](const Tensor& dy, const std::vector<bool>&) -> std::vector<Tensor> { return {make(dy)}; });
}

// The copy is gone: a gradient that the backward function made and nobody else holds
// becomes the leaf's gradient itself (the same bytes), with either backward.
TEST(LeafGradient, AFreshGradientIsTakenNotCopied) {
  for (const bool release : {false, true}) {
    const Variable x = leaf({1.0f, 2.0f, 3.0f});
    const void* made = nullptr;
    Variable y = op_returning(x, [&made](const Tensor& dy) {
      Tensor g = ops::scale(dy, 3.0f);
      made = g.raw();
      return g;
    });
    Variable l = ag::sum_all(y);
    if (release) {
      l.backward_releasing_graph();
    } else {
      l.backward();
    }
    ASSERT_NE(made, nullptr);
    EXPECT_EQ(x.grad().raw(), made) << (release ? "releasing" : "plain") << " backward copied a gradient nobody else holds";
    for (int i = 0; i < 3; ++i) EXPECT_EQ(x.grad().data<float>()[i], 3.0f);
  }
}

// add's backward hands its upstream gradient unchanged to both inputs: the two leaves
// must not share bytes with each other (nor, without release, with the kept gradient of
// the sum's input).
TEST(LeafGradient, TwoInputsGivenOneTensorGetSeparateGradients) {
  for (const bool release : {false, true}) {
    const Variable a = leaf({1.0f, 2.0f}), b = leaf({3.0f, 4.0f});
    Variable s = ag::add(a, b);
    Variable l = ag::sum_all(s);
    if (release) {
      l.backward_releasing_graph();
    } else {
      l.backward();
    }
    const char* mode = release ? "releasing" : "plain";
    EXPECT_FALSE(shares_bytes(a.grad(), b.grad())) << mode;
    if (!release) {
      EXPECT_FALSE(shares_bytes(a.grad(), s.grad())) << mode;
      EXPECT_FALSE(shares_bytes(b.grad(), s.grad())) << mode;
    }
    for (int i = 0; i < 2; ++i) {
      EXPECT_EQ(a.grad().data<float>()[i], 1.0f);
      EXPECT_EQ(b.grad().data<float>()[i], 1.0f);
    }
  }
}

// The same tensor returned for two inputs by one backward function.
TEST(LeafGradient, OneTensorReturnedForTwoInputsIsNotShared) {
  const Variable a = leaf({1.0f, 2.0f}), b = leaf({3.0f, 4.0f});
  Variable y = ag::record("twice", ops::add(a.value(), b.value()), {a, b},
                          [](const Tensor& dy, const std::vector<bool>&) -> std::vector<Tensor> {
                            Tensor g = ops::scale(dy, 2.0f);
                            return {g, g};
                          });
  ag::sum_all(y).backward_releasing_graph();
  EXPECT_FALSE(shares_bytes(a.grad(), b.grad()));
  EXPECT_EQ(a.grad().data<float>()[1], 2.0f);
  EXPECT_EQ(b.grad().data<float>()[1], 2.0f);
}

// An identity-like backward (reshape returns a view of its upstream gradient): the
// leaf's gradient must not share bytes with the seed the caller still holds.
TEST(LeafGradient, AViewOfTheCallersSeedIsCopied) {
  for (const bool release : {false, true}) {
    const Variable x = leaf({1.0f, 2.0f, 3.0f, 4.0f});
    Variable y = ag::reshape(x, {2, 2});
    const Tensor seed = Tensor::from_vector(Shape{2, 2}, {5.0f, 6.0f, 7.0f, 8.0f});
    if (release) {
      y.backward_releasing_graph(seed);
    } else {
      y.backward(seed);
    }
    EXPECT_FALSE(shares_bytes(x.grad(), seed)) << (release ? "releasing" : "plain");
    EXPECT_EQ(x.grad().data<float>()[3], 8.0f);
    EXPECT_EQ(seed.data<float>()[3], 8.0f);
  }
}

// A backward function that returns a tensor still held elsewhere (here a value the test
// keeps, as an op might return a saved tensor): the leaf gets a copy.
TEST(LeafGradient, ATensorHeldElsewhereIsCopied) {
  const Variable x = leaf({1.0f, 2.0f});
  const Tensor held = Tensor::from_vector(Shape{2}, {9.0f, 10.0f});
  Variable y = op_returning(x, [held](const Tensor&) { return held; });
  ag::sum_all(y).backward_releasing_graph();  // the closure is gone; `held` is still here
  EXPECT_FALSE(shares_bytes(x.grad(), held));
  EXPECT_EQ(x.grad().data<float>()[1], 10.0f);
}

// Parts of one larger block (as a backward function that slices its upstream gradient
// returns): each leaf gets a copy of its own part, never a view that keeps the whole
// block, even when nothing else holds the block.
TEST(LeafGradient, PartsOfALargerBlockAreCopied) {
  const Variable a = leaf({1.0f, 2.0f}), b = leaf({3.0f, 4.0f, 5.0f});
  Variable y = ag::record("split", Tensor::from_vector(Shape{2}, {0.0f, 0.0f}), {a, b},
                          [](const Tensor&, const std::vector<bool>&) -> std::vector<Tensor> {
                            const Tensor block = Tensor::from_vector(Shape{5}, {1, 2, 3, 4, 5});
                            return {block.narrow(0, 2), block.narrow(2, 3)};
                          });
  ag::sum_all(y).backward_releasing_graph();
  EXPECT_FALSE(shares_bytes(a.grad(), b.grad()));
  EXPECT_EQ(a.grad().storage()->nbytes(), a.grad().nbytes()) << "a keeps more than its gradient";
  EXPECT_EQ(b.grad().storage()->nbytes(), b.grad().nbytes()) << "b keeps more than its gradient";
  EXPECT_EQ(a.grad().data<float>()[1], 2.0f);
  EXPECT_EQ(b.grad().data<float>()[0], 3.0f);
}

}  // namespace
}  // namespace hl
