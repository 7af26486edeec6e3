// Tensor: shapes, views sharing storage, copies, casts, and clear errors.
#include <gtest/gtest.h>

#include <cstring>

#include "engine/tensor.h"
#include "support/test_support.h"

namespace hl {
namespace {

TEST(Shape, ValidatesRankSignAndOverflow) {
  EXPECT_EQ(Shape({2, 3, 4}).numel(), 24);
  EXPECT_EQ(Shape({}).numel(), 1);  // a scalar
  EXPECT_EQ(Shape({5, 0, 3}).numel(), 0);
  EXPECT_THROW(Shape({1, 2, 3, 4, 5, 6}), Error);
  EXPECT_THROW(Shape({2, -1}), Error);
  EXPECT_THROW(Shape({1LL << 40, 1LL << 30}), Error);
  EXPECT_EQ(Shape({2, 3}).str(), "[2, 3]");
}

TEST(Tensor, EmptyHasShapeTypeAndAlignedStorage) {
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::I32, DType::I64, DType::U8}) {
    Tensor x = Tensor::empty({3, 5}, t);
    EXPECT_EQ(x.numel(), 15);
    EXPECT_EQ(x.nbytes(), 15 * dtype_size(t));
    EXPECT_EQ(reinterpret_cast<uintptr_t>(x.raw()) % 64, 0u);
    EXPECT_TRUE(x.device().is_cpu());
  }
}

TEST(Tensor, ZerosAreZero) {
  Tensor z = Tensor::zeros({4, 4}, DType::F32);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(z.data<float>()[i], 0.0f);
}

TEST(Tensor, ReshapeSharesStorageAndInfersMinusOne) {
  Tensor x = Tensor::from_vector({2, 6}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  Tensor y = x.reshape({3, -1});
  EXPECT_EQ(y.shape(), Shape({3, 4}));
  EXPECT_EQ(y.raw(), x.raw());
  y.data<float>()[5] = 50;
  EXPECT_EQ(x.data<float>()[5], 50);
  EXPECT_THROW(x.reshape({5, -1}), Error);
  EXPECT_THROW(x.reshape({-1, -1}), Error);
  EXPECT_THROW(x.reshape({13}), Error);
}

TEST(Tensor, NarrowViewsOuterRows) {
  Tensor x = Tensor::from_vector({4, 3}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  Tensor rows = x.narrow(1, 2);
  EXPECT_EQ(rows.shape(), Shape({2, 3}));
  EXPECT_EQ(rows.offset(), 3 * sizeof(float));
  EXPECT_EQ(rows.data<float>()[0], 3.0f);
  EXPECT_EQ(rows.data<float>()[5], 8.0f);
  // A narrowed view of a narrowed view keeps counting from the storage start.
  EXPECT_EQ(rows.narrow(1, 1).data<float>()[0], 6.0f);
  EXPECT_THROW(x.narrow(3, 2), Error);
  EXPECT_THROW(x.narrow(-1, 1), Error);
  EXPECT_EQ(x.narrow(4, 0).numel(), 0);
}

TEST(Tensor, CloneAndCopyAreIndependent) {
  Tensor x = Tensor::from_vector({3}, {1, 2, 3});
  Tensor c = x.clone();
  c.data<float>()[0] = 9;
  EXPECT_EQ(x.data<float>()[0], 1.0f);
  Tensor d = Tensor::empty({3}, DType::F32);
  d.copy_from(x);
  EXPECT_EQ(d.data<float>()[2], 3.0f);
  EXPECT_THROW(d.copy_from(Tensor::empty({4}, DType::F32)), Error);
  EXPECT_THROW(d.copy_from(Tensor::empty({3}, DType::I32)), Error);
  EXPECT_EQ(x.to(Device::cpu()).raw(), x.raw()) << "to() the same device is a no-op";
}

TEST(Tensor, CastsBetweenFloatTypes) {
  Tensor x = Tensor::from_vector({4}, {1.0f, -2.5f, 65504.0f, 1e-3f});
  Tensor h = x.cast(DType::F16);
  EXPECT_EQ(h.dtype(), DType::F16);
  EXPECT_EQ(h.data<uint16_t>()[0], 0x3c00);  // 1.0 in f16
  Tensor back = h.cast(DType::BF16).cast(DType::F32);
  EXPECT_EQ(back.data<float>()[1], -2.5f);   // exact in both 16-bit types
  Tensor i = Tensor::empty({2}, DType::I64);
  i.data<int64_t>()[0] = -7;
  i.data<int64_t>()[1] = 1LL << 33;
  Tensor f = i.cast(DType::F32);
  EXPECT_EQ(f.data<float>()[0], -7.0f);
  EXPECT_EQ(f.data<float>()[1], 8589934592.0f);
  EXPECT_THROW(x.cast(DType::I32), Error);
}

TEST(Tensor, WrongElementTypeAccessThrows) {
  Tensor x = Tensor::empty({2}, DType::F16);
  EXPECT_THROW(x.data<float>(), Error);
  EXPECT_NO_THROW(x.data<uint16_t>());
}

TEST(Tensor, ReadOnlyStorageRefusesWrites) {
  static float backing[4] = {1, 2, 3, 4};
  auto storage = std::make_shared<Storage>(backing, sizeof backing, Device::cpu(), nullptr, /*read_only=*/true);
  Tensor t(storage, 0, Shape({4}), DType::F32);
  const Tensor& ct = t;
  EXPECT_EQ(ct.data<float>()[3], 4.0f);
  EXPECT_THROW(t.raw(), Error);
  EXPECT_EQ(t.clone().data<float>()[2], 3.0f);
}

TEST(Tensor, ViewOutsideStorageIsRejected) {
  auto storage = Storage::host(16);
  EXPECT_THROW(Tensor(storage, 8, Shape({3}), DType::F32), Error);
  EXPECT_NO_THROW(Tensor(storage, 8, Shape({2}), DType::F32));
  EXPECT_THROW(Tensor(storage, 20, Shape({0}), DType::F32), Error);
}

TEST(Tensor, StrNamesTypeShapeAndDevice) { EXPECT_EQ(Tensor::empty({2, 3}, DType::BF16).str(), "bf16[2, 3] on cpu"); }

TEST(Device, ParsesNames) {
  EXPECT_EQ(parse_device("cpu"), Device::cpu());
  EXPECT_EQ(parse_device("cuda"), Device::cuda(0));
  EXPECT_EQ(parse_device("cuda:3"), Device::cuda(3));
  EXPECT_THROW(parse_device("gpu"), Error);
  EXPECT_THROW(parse_device("cuda:"), Error);
  EXPECT_THROW(parse_device("cuda:-1"), Error);
  EXPECT_THROW(parse_device("cuda:1x"), Error);
}

TEST(DType, NamesRoundTrip) {
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::I32, DType::I64, DType::U8})
    EXPECT_EQ(dtype_from_name(dtype_name(t)), t);
  EXPECT_FALSE(dtype_from_name("F64").has_value());
}

}  // namespace
}  // namespace hl
