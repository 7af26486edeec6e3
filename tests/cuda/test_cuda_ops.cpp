// Engine ops on CUDA tensors against the same ops on CPU tensors: the dispatch, the
// shape bookkeeping (reduction over any dimension, batched and broadcast matmul) and
// device casts. Outputs are poisoned through the arena: a block filled with NaN and
// freed is the next one handed out for its size class on this thread, so the op's
// output starts as NaN (checked by pointer).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cuda/cuda_test_util.h"
#include "engine/ops.h"
#include "support/test_support.h"

namespace hl {
namespace {

using test::expect_close;
using test::expect_same_floats;

const Device kCuda = Device::cuda(0);

std::vector<float> values(const Tensor& t) {
  Tensor host = t.to(Device::cpu());
  const float* p = host.data<float>();
  return {p, p + host.numel()};
}

Tensor random_tensor(const Shape& shape, uint32_t seed, float lo = -2, float hi = 2) {
  return Tensor::from_vector(shape, test::random_floats(shape.numel(), seed, lo, hi));
}

// Frees a NaN-filled block of `nbytes` so that the next allocation of that size class
// on this thread gets it. Returns its address, to check that it was indeed reused.
const void* poison_next_allocation(size_t nbytes) {
  Tensor t = Tensor::empty({static_cast<int64_t>(nbytes)}, DType::U8, kCuda);
  test::poison(t);
  return t.raw();
}

// Runs op on the CUDA copies of the inputs with a poisoned output and returns it.
template <class Op>
Tensor run_poisoned(size_t out_nbytes, Op op) {
  const void* poisoned = poison_next_allocation(out_nbytes);
  Tensor y = op();
  EXPECT_EQ(static_cast<const void*>(y.raw()), poisoned) << "the output did not start poisoned";
  return y;
}

TEST(CudaOps, ElementwiseMatchCpu) {
  HL_REQUIRE_CUDA();
  const Shape shape{3, 5, 7};
  Tensor a = random_tensor(shape, 1, -6, 6), b = random_tensor(shape, 2, -6, 6);
  Tensor da = a.to(kCuda), db = b.to(kCuda);
  const size_t out = a.nbytes();
  expect_same_floats(values(run_poisoned(out, [&] { return ops::add(da, db); })), values(ops::add(a, b)), "add");
  expect_same_floats(values(run_poisoned(out, [&] { return ops::mul(da, db); })), values(ops::mul(a, b)), "mul");
  expect_same_floats(values(run_poisoned(out, [&] { return ops::scale(da, 3.25f); })), values(ops::scale(a, 3.25f)),
                     "scale");
  expect_same_floats(values(run_poisoned(out, [&] { return ops::relu(da); })), values(ops::relu(a)), "relu");
  expect_close(values(run_poisoned(out, [&] { return ops::sigmoid(da); })), values(ops::sigmoid(a)), 1e-5, "sigmoid");
  expect_close(values(run_poisoned(out, [&] { return ops::tanh(da); })), values(ops::tanh(a)), 1e-5, "tanh");
  EXPECT_TRUE(ops::add(da, db).device() == kCuda);
  EXPECT_THROW(ops::add(a, db), Error) << "mixing devices is an error";
}

TEST(CudaOps, ReductionsOverEveryDimension) {
  HL_REQUIRE_CUDA();
  for (const Shape& shape : {Shape{3, 4, 5}, Shape{2, 3, 4, 5}, Shape{1000}, Shape{6, 1100}}) {
    Tensor x = random_tensor(shape, 3), dx = x.to(kCuda);
    for (int dim = -1; dim < shape.ndim(); ++dim) {
      const std::string label = shape.str() + " dim " + std::to_string(dim);
      const size_t out = x.nbytes() / static_cast<size_t>(x.size(dim));
      expect_close(values(run_poisoned(out, [&] { return ops::sum(dx, dim); })), values(ops::sum(x, dim)), 1e-6,
                   "sum " + label);
      expect_close(values(run_poisoned(out, [&] { return ops::mean(dx, dim); })), values(ops::mean(x, dim)), 1e-6,
                   "mean " + label);
      expect_same_floats(values(run_poisoned(out, [&] { return ops::max(dx, dim); })), values(ops::max(x, dim)),
                         "max " + label);
    }
  }
}

TEST(CudaOps, TransposeLast2AnyDtype) {
  HL_REQUIRE_CUDA();
  Tensor x = random_tensor({2, 3, 4, 5}, 4), dx = x.to(kCuda);  // uploaded first: same size as the output
  Tensor y = run_poisoned(x.nbytes(), [&] { return ops::transpose_last2(dx); });
  EXPECT_EQ(y.shape(), Shape({2, 3, 5, 4}));
  expect_same_floats(values(y), values(ops::transpose_last2(x)), "transpose f32");

  Tensor i = Tensor::empty({3, 7, 9}, DType::I64);
  std::mt19937_64 gen(1);
  for (int64_t k = 0; k < i.numel(); ++k) i.data<int64_t>()[k] = static_cast<int64_t>(gen());
  Tensor di = ops::transpose_last2(i.to(kCuda)).to(Device::cpu());
  Tensor hi = ops::transpose_last2(i);
  EXPECT_EQ(std::memcmp(di.raw(), hi.raw(), hi.nbytes()), 0) << "transpose i64";
}

TEST(CudaOps, MatmulBatchedBroadcastAndTransposed) {
  HL_REQUIRE_CUDA();
  const int64_t m = 19, k = 33, n = 25;
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      const std::string label = std::string(ta ? "A^T" : "A") + " x " + (tb ? "B^T" : "B");
      // [2, 3, m, k] x [k, n]: one B shared by all six products (stride 0).
      Tensor a = random_tensor(ta ? Shape{2, 3, k, m} : Shape{2, 3, m, k}, 5);
      Tensor b = random_tensor(tb ? Shape{n, k} : Shape{k, n}, 6);
      Tensor da = a.to(kCuda), db = b.to(kCuda);
      Tensor dc = run_poisoned(2 * 3 * m * n * sizeof(float), [&] { return ops::matmul(da, db, ta, tb); });
      EXPECT_EQ(dc.shape(), Shape({2, 3, m, n}));
      expect_close(values(dc), values(ops::matmul(a, b, ta, tb)), 1e-5, "broadcast " + label);
      // [4, m, k] x [4, k, n]: a B per batch entry.
      Tensor a3 = random_tensor(ta ? Shape{4, k, m} : Shape{4, m, k}, 7);
      Tensor b3 = random_tensor(tb ? Shape{4, n, k} : Shape{4, k, n}, 8);
      Tensor da3 = a3.to(kCuda), db3 = b3.to(kCuda);
      Tensor dc3 = run_poisoned(4 * m * n * sizeof(float), [&] { return ops::matmul(da3, db3, ta, tb); });
      expect_close(values(dc3), values(ops::matmul(a3, b3, ta, tb)), 1e-5, "batched " + label);
    }
  }
}

TEST(CudaOps, RandomTensorsMatchCpu) {
  HL_REQUIRE_CUDA();
  const Shape shape{31, 33};
  Tensor du = run_poisoned(shape.numel() * 4, [&] { return ops::uniform(shape, 99, 7, -1.0f, 1.0f, kCuda); });
  expect_same_floats(values(du), values(ops::uniform(shape, 99, 7, -1.0f, 1.0f)), "uniform");
  Tensor dn = run_poisoned(shape.numel() * 4, [&] { return ops::normal(shape, 99, 7, 0.0f, 1.0f, kCuda); });
  expect_close(values(dn), values(ops::normal(shape, 99, 7, 0.0f, 1.0f)), 1e-6, "normal");
}

TEST(CudaOps, CastsOnTheDeviceMatchCpu) {
  HL_REQUIRE_CUDA();
  Tensor x = random_tensor({4, 50}, 9, -70000, 70000);  // beyond f16's range too
  Tensor dx = x.to(kCuda);
  for (DType to : {DType::F16, DType::BF16}) {
    Tensor d = dx.cast(to);
    ASSERT_TRUE(d.device() == kCuda);
    Tensor h = x.cast(to);
    EXPECT_EQ(std::memcmp(d.to(Device::cpu()).raw(), h.raw(), h.nbytes()), 0) << "f32 -> " << dtype_name(to);
    expect_same_floats(values(d.cast(DType::F32)), values(h.cast(DType::F32)), "back to f32");
  }
  // f16 -> bf16 goes through f32 on both sides.
  Tensor hb = x.cast(DType::F16).cast(DType::BF16);
  Tensor db = dx.cast(DType::F16).cast(DType::BF16).to(Device::cpu());
  EXPECT_EQ(std::memcmp(db.raw(), hb.raw(), hb.nbytes()), 0) << "f16 -> bf16";
  Tensor i = Tensor::empty({100}, DType::I32);
  for (int k = 0; k < 100; ++k) i.data<int32_t>()[k] = (k - 50) * 1000003;
  expect_same_floats(values(i.to(kCuda).cast(DType::F32)), values(i.cast(DType::F32)), "i32 -> f32");
}

}  // namespace
}  // namespace hl
