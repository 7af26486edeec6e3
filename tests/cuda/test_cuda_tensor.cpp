// Tensors on CUDA devices: copies host <-> device <-> device, pinned host buffers,
// views with offsets, and copies between two devices where the machine has them.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "cuda/cuda_test_util.h"
#include "engine/cuda_backend.h"
#include "engine/tensor.h"
#include "support/test_support.h"

namespace hl {
namespace {

const Device kCuda = Device::cuda(0);

Tensor random_bytes(const Shape& shape, DType dtype, uint32_t seed, bool pinned = false) {
  Tensor t = pinned ? Tensor::empty_pinned(shape, dtype) : Tensor::empty(shape, dtype);
  std::mt19937 gen(seed);
  auto* p = static_cast<uint8_t*>(t.raw());
  for (size_t i = 0; i < t.nbytes(); ++i) p[i] = static_cast<uint8_t>(gen());
  return t;
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.nbytes() == b.nbytes() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

TEST(CudaTensor, RoundTripHostDeviceDeviceHostForEveryDtype) {
  HL_REQUIRE_CUDA();
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::I32, DType::I64, DType::U8}) {
    Tensor host = random_bytes({3, 5, 7}, t, 1);
    Tensor dev = host.to(kCuda);
    EXPECT_TRUE(dev.device() == kCuda);
    EXPECT_EQ(dev.shape(), host.shape());
    Tensor dev2 = dev.clone();  // device -> device
    EXPECT_NE(dev2.raw(), dev.raw());
    Tensor back = dev2.to(Device::cpu());
    EXPECT_TRUE(same_bytes(back, host)) << dtype_name(t);
  }
}

TEST(CudaTensor, PinnedBuffersRoundTrip) {
  HL_REQUIRE_CUDA();
  Tensor src = random_bytes({1 << 20}, DType::F32, 2, /*pinned=*/true);
  Tensor dev = Tensor::empty(src.shape(), DType::F32, kCuda);
  dev.copy_from(src);
  Tensor dst = Tensor::empty_pinned(src.shape(), DType::F32);
  std::memset(dst.raw(), 0, dst.nbytes());
  dst.copy_from(dev);
  EXPECT_TRUE(same_bytes(dst, src));
  // Pinned memory is page-locked host memory the driver knows about.
  cudaPointerAttributes attr{};
  ASSERT_EQ(cudaPointerGetAttributes(&attr, src.raw()), cudaSuccess);
  EXPECT_EQ(attr.type, cudaMemoryTypeHost);
}

TEST(CudaTensor, ViewsWithOffsetsCopyTheRightBytes) {
  HL_REQUIRE_CUDA();
  Tensor host = random_bytes({8, 16}, DType::F32, 3);
  Tensor dev = host.to(kCuda);
  Tensor rows = dev.narrow(2, 3).to(Device::cpu());
  EXPECT_EQ(std::memcmp(rows.raw(), host.narrow(2, 3).raw(), rows.nbytes()), 0);
  // Writing into a device view changes only those rows of the storage.
  Tensor patch = random_bytes({2, 16}, DType::F32, 4);
  Tensor view = dev.narrow(5, 2);
  view.copy_from(patch);
  Tensor all = dev.to(Device::cpu());
  EXPECT_EQ(std::memcmp(all.narrow(5, 2).raw(), patch.raw(), patch.nbytes()), 0);
  EXPECT_EQ(std::memcmp(all.raw(), host.raw(), 5 * 16 * 4), 0);
  EXPECT_EQ(std::memcmp(all.narrow(7, 1).raw(), host.narrow(7, 1).raw(), 16 * 4), 0);
  EXPECT_EQ(dev.reshape({16, 8}).to(Device::cpu()).shape(), Shape({16, 8}));
}

TEST(CudaTensor, ToTheSameDeviceSharesAndZerosAreZero) {
  HL_REQUIRE_CUDA();
  Tensor dev = Tensor::zeros({100}, DType::F32, kCuda);
  EXPECT_EQ(dev.to(kCuda).raw(), dev.raw());
  Tensor host = dev.to(Device::cpu());
  for (int64_t i = 0; i < 100; ++i) EXPECT_EQ(host.data<float>()[i], 0.0f);
  EXPECT_EQ(dev.str(), "f32[100] on cuda:0");
}

TEST(CudaTensor, CopiesBetweenTwoDevices) {
  HL_REQUIRE_CUDA();
  if (cuda_device_count() < 2) GTEST_SKIP() << "needs two CUDA devices, found " << cuda_device_count();
  Tensor host = random_bytes({1000, 3}, DType::F32, 5);
  Tensor on1 = host.to(kCuda).to(Device::cuda(1));
  EXPECT_TRUE(on1.device() == Device::cuda(1));
  EXPECT_TRUE(same_bytes(on1.to(kCuda).to(Device::cpu()), host));
}

}  // namespace
}  // namespace hl
