// The op table on CUDA (label gpu; skips visibly without a device): every row's op on
// CUDA tensors against the same op on CPU tensors, forward output and the gradient of
// every differentiated input, on fresh random inputs and a random upstream gradient.
//
// Poisoning (DESIGN section 6): the op allocates its own outputs through the arena, so
// just before it runs the arena's free list is stocked with NaN-filled blocks of the
// output's and the gradients' sizes (engine/cuda/arena.cpp hands a freed block of the
// same size class back to the next allocation on the same thread). An element the CUDA
// kernel does not write stays NaN and fails the comparison. Each output is checked to
// live in one of those blocks (or to be a view of a tensor the test made: reshape,
// the gradient of add), so the poisoning cannot silently stop working.
// The op sees each differentiated input through a reshape to its own shape, a view,
// so that the reshape's gradient is the op's own gradient tensor, not the copy that a
// leaf keeps.
//
// Tolerances: the row's cuda tolerances, max|a - b| / max|b|; 0 means bit for bit
// (any NaN matching any NaN) where both devices do the same f32 operations in the same
// order.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "engine/autograd/shape_ops.h"
#include "engine/cuda_backend.h"
#include "ops/op_table.h"
#include "support/test_support.h"

namespace hl::optable {
namespace {

const Device kCuda = Device::cuda(0);

// Extra poisoned blocks per size: the op's temporaries of the same size class may take
// some before the output is allocated.
constexpr int kSpareBlocks = 4;

void expect_match(const Vec& got, const Vec& want, double tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what << ": sizes differ";
  if (tol == 0) {
    for (size_t i = 0; i < got.size(); ++i) {
      const auto a = static_cast<float>(got[i]), b = static_cast<float>(want[i]);
      if (!(std::isnan(a) && std::isnan(b)) && std::memcmp(&a, &b, sizeof a) != 0) {
        ADD_FAILURE() << what << ": element [" << i << "] of " << got.size() << " is " << a << ", expected " << b
                      << " (bit for bit)";
        return;
      }
    }
    return;
  }
  double max_diff = 0, max_ref = 0;
  size_t worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    double d = std::fabs(got[i] - want[i]);
    if (std::isnan(d)) d = std::numeric_limits<double>::infinity();
    if (d > max_diff) max_diff = d, worst = i;
    max_ref = std::max(max_ref, std::fabs(want[i]));
  }
  const double err = max_ref > 0 ? max_diff / max_ref : max_diff;
  EXPECT_LE(err, tol) << what << ": relative error " << err << "; worst element [" << worst << "]: " << got[worst]
                      << ", expected " << want[worst];
}

// Frees NaN-filled device blocks of the given byte sizes (with multiplicity, plus
// spares) onto this thread's free list; returns their addresses.
std::set<const void*> poison_free_list(const std::vector<size_t>& nbytes) {
  std::map<size_t, int> wanted;
  for (size_t n : nbytes)
    if (n > 0) ++wanted[n];
  std::vector<Tensor> blocks;
  std::set<const void*> addresses;
  for (auto [n, count] : wanted) {
    const auto floats = static_cast<int64_t>(n / sizeof(float));
    const Tensor nan = Tensor::from_vector(Shape{floats}, std::vector<float>(floats, std::nanf("")));
    for (int i = 0; i < count + kSpareBlocks; ++i) {
      Tensor t = Tensor::empty(Shape{floats}, DType::F32, kCuda);
      t.copy_from(nan);
      addresses.insert(t.raw());
      blocks.push_back(std::move(t));
    }
  }
  return addresses;  // `blocks` dies here: every block goes back to the free list
}

class OpTableCuda : public ::testing::TestWithParam<size_t> {
 protected:
  const OpRow& row() const { return op_table()[GetParam()]; }
};

TEST_P(OpTableCuda, MatchesCpu) {
  HL_REQUIRE_CUDA();
  const OpRow& r = row();
  const std::vector<Vec> values = draw_inputs(r, 3);

  // The CPU, the specification.
  const std::vector<ag::Variable> cpu_leaves = make_leaves(r, make_tensors(r, values, Device::cpu()));
  const ag::Variable y_cpu = r.op(cpu_leaves);
  std::mt19937_64 gen(5);
  std::normal_distribution<double> normal;
  std::vector<float> seed(static_cast<size_t>(y_cpu.value().numel()));
  for (float& s : seed) s = static_cast<float>(normal(gen));
  const Tensor seed_cpu = Tensor::from_vector(y_cpu.shape(), seed);
  y_cpu.backward(seed_cpu);
  std::vector<size_t> out_bytes{y_cpu.value().nbytes()};
  for (size_t k = 0; k < values.size(); ++k)
    if (r.inputs[k].grad) out_bytes.push_back(cpu_leaves[k].grad().nbytes());

  // CUDA: inputs and seed first, then nothing cached but the poisoned blocks.
  cuda_backend::arena_release_cached(kCuda.index);
  const std::vector<Tensor> inputs = make_tensors(r, values, kCuda);
  const Tensor seed_cuda = seed_cpu.to(kCuda);
  std::set<const void*> ours{seed_cuda.raw()};
  for (const Tensor& t : inputs) ours.insert(t.raw());
  const std::vector<ag::Variable> leaves = make_leaves(r, inputs);
  std::vector<ag::Variable> seen;  // what the op sees: differentiated inputs through a view
  for (size_t k = 0; k < leaves.size(); ++k)
    seen.push_back(r.inputs[k].grad ? ag::reshape(leaves[k], leaves[k].shape().vec()) : leaves[k]);
  const std::set<const void*> poisoned = poison_free_list(out_bytes);
  const ag::Variable y = r.op(seen);
  y.backward(seed_cuda);

  auto check_poisoned = [&](const Tensor& t, const std::string& what) {
    if (t.nbytes() == 0) return;
    EXPECT_TRUE(poisoned.count(t.raw()) || ours.count(t.raw()))
        << what << " was not allocated from a poisoned block (engine/cuda/arena.cpp changed how blocks are reused?)";
  };
  ASSERT_EQ(y.value().device(), kCuda);
  ASSERT_EQ(y.shape(), y_cpu.shape());
  check_poisoned(y.value(), r.name + " output");
  expect_match(to_doubles(y.value()), to_doubles(y_cpu.value()), r.cuda.forward, r.name + " forward");
  for (size_t k = 0; k < values.size(); ++k) {
    if (!r.inputs[k].grad) continue;
    const std::string what = r.name + " gradient of input " + std::to_string(k);
    ASSERT_TRUE(seen[k].grad().defined()) << what << ": none arrived";
    check_poisoned(seen[k].grad(), what);
    expect_match(to_doubles(seen[k].grad()), to_doubles(cpu_leaves[k].grad()), r.cuda.grad, what);
  }
}

std::vector<size_t> row_indices() {
  std::vector<size_t> at(op_table().size());
  for (size_t i = 0; i < at.size(); ++i) at[i] = i;
  return at;
}

INSTANTIATE_TEST_SUITE_P(Rows, OpTableCuda, ::testing::ValuesIn(row_indices()),
                         [](const ::testing::TestParamInfo<size_t>& info) { return op_table()[info.param].name; });

}  // namespace
}  // namespace hl::optable
