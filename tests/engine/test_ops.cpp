// The op API's own checks (shapes, types, devices, dimension handling). Numerical
// agreement with PyTorch is in tests/kernels/test_kernels_golden.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "engine/ops.h"
#include "support/test_support.h"

namespace hl {
namespace {

TEST(Ops, ElementwiseChecksShapesAndTypes) {
  Tensor a = Tensor::from_vector({2, 2}, {1, -2, 3, -4});
  Tensor b = Tensor::from_vector({2, 2}, {10, 20, 30, 40});
  Tensor s = ops::add(a, b);
  EXPECT_EQ(s.data<float>()[3], 36.0f);
  EXPECT_EQ(ops::relu(a).data<float>()[1], 0.0f);
  EXPECT_THROW(ops::add(a, Tensor::from_vector({4}, {1, 2, 3, 4})), Error);
  EXPECT_THROW(ops::relu(Tensor::empty({2}, DType::F16)), Error);
}

TEST(Ops, ReductionsRemoveTheDimension) {
  Tensor x = Tensor::from_vector({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor s0 = ops::sum(x, 0), s1 = ops::mean(x, -1), m = ops::max(x, 1);
  EXPECT_EQ(s0.shape(), Shape({3}));
  EXPECT_EQ(s0.data<float>()[2], 9.0f);
  EXPECT_EQ(s1.data<float>()[1], 5.0f);
  EXPECT_EQ(m.data<float>()[0], 3.0f);
  EXPECT_THROW(ops::sum(x, 2), Error);
  EXPECT_THROW(ops::max(Tensor::empty({2, 0}, DType::F32), 1), Error);
}

TEST(Ops, MatmulShapesAndBroadcastOfA2DRightOperand) {
  Tensor a = Tensor::from_vector({2, 1, 2}, {1, 2, 3, 4});
  Tensor b = Tensor::from_vector({2, 2}, {1, 0, 0, 1});
  Tensor c = ops::matmul(a, b);
  EXPECT_EQ(c.shape(), Shape({2, 1, 2}));
  EXPECT_EQ(c.data<float>()[3], 4.0f);
  Tensor ct = ops::matmul(a, a, false, true);  // [2,1,2] x [2,1,2]^T -> [2,1,1]
  EXPECT_EQ(ct.data<float>()[1], 25.0f);
  EXPECT_THROW(ops::matmul(a, Tensor::from_vector({3, 1}, {1, 2, 3})), Error);
  EXPECT_THROW(ops::matmul(a, Tensor::empty({3, 2, 2}, DType::F32)), Error);
  EXPECT_EQ(ops::matmul(Tensor::empty({0, 3}, DType::F32), Tensor::empty({3, 2}, DType::F32)).shape(), Shape({0, 2}));
}

TEST(Ops, TransposeKeepsDtype) {
  Tensor x = Tensor::empty({2, 3}, DType::U8);
  for (int i = 0; i < 6; ++i) x.data<uint8_t>()[i] = static_cast<uint8_t>(i);
  Tensor y = ops::transpose_last2(x);
  EXPECT_EQ(y.shape(), Shape({3, 2}));
  EXPECT_EQ(y.dtype(), DType::U8);
  EXPECT_EQ(y.data<uint8_t>()[1], 3);
}

TEST(Ops, RandomTensorsAreSeeded) {
  Tensor a = ops::uniform({100}, 5, 0, 0, 1), b = ops::uniform({100}, 5, 0, 0, 1), c = ops::uniform({100}, 6, 0, 0, 1);
  EXPECT_EQ(0, std::memcmp(a.raw(), b.raw(), a.nbytes()));
  EXPECT_NE(0, std::memcmp(a.raw(), c.raw(), a.nbytes()));
  Tensor n = ops::normal({10}, 5, 0, 0, 1);
  EXPECT_TRUE(std::isfinite(n.data<float>()[0]));
}

TEST(Ops, CudaTensorWithoutDeviceIsAClearError) {
  if (cuda_available()) GTEST_SKIP() << "a CUDA device is present; the no-device message cannot be checked";
  try {
    Tensor::empty({4}, DType::F32, Device::cuda(0));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_TRUE(msg.find("CUDA") != std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace hl
