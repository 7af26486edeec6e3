// kernels/cpu/host_cache: large host blocks are reused for requests of the same size, small
// ones are not cached, every block is 64-byte aligned, the cache's byte count is exact and
// trim() empties it. Under AddressSanitizer the cache is bypassed by design (so reuse is
// not expected there).
#include <gtest/gtest.h>

#include <cstdint>

#include "kernels/cpu/host_cache.h"
#include "engine/tensor.h"

namespace hl {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kCacheEnabled = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kCacheEnabled = false;
#else
constexpr bool kCacheEnabled = true;
#endif
#else
constexpr bool kCacheEnabled = true;
#endif

TEST(HostCache, ReusesLargeBlocksOfTheSameSize) {
  if (!kCacheEnabled) GTEST_SKIP() << "AddressSanitizer build: the cache is bypassed";
  host_cache::trim();
  const size_t n = (size_t(3) << 20) + 5;  // 3 MiB and a few bytes: rounded to whole pages
  void* a = host_cache::allocate(n);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % host_cache::kAlignment, 0u);
  host_cache::release(a, n);
  EXPECT_EQ(host_cache::cached_bytes(), (size_t(3) << 20) + 4096);
  void* b = host_cache::allocate(n + 100);  // same page count: the same block
  EXPECT_EQ(a, b);
  EXPECT_EQ(host_cache::cached_bytes(), 0u);
  void* c = host_cache::allocate(size_t(8) << 20);  // another size: a fresh block
  EXPECT_NE(c, b);
  host_cache::release(b, n + 100);
  host_cache::release(c, size_t(8) << 20);
  EXPECT_EQ(host_cache::cached_bytes(), (size_t(3) << 20) + 4096 + (size_t(8) << 20));
  host_cache::trim();
  EXPECT_EQ(host_cache::cached_bytes(), 0u);
}

TEST(HostCache, SmallBlocksAreNotCached) {
  host_cache::trim();
  void* p = host_cache::allocate(1000);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % host_cache::kAlignment, 0u);
  host_cache::release(p, 1000);
  EXPECT_EQ(host_cache::cached_bytes(), 0u);
  void* z = host_cache::allocate(0);  // never null, even for an empty tensor
  EXPECT_NE(z, nullptr);
  host_cache::release(z, 0);
}

TEST(HostCache, TensorsGiveTheirBlocksBack) {
  if (!kCacheEnabled) GTEST_SKIP() << "AddressSanitizer build: the cache is bypassed";
  host_cache::trim();
  const void* first = nullptr;
  {
    Tensor t = Tensor::empty({1024, 1024}, DType::F32);  // 4 MiB
    first = t.raw();
  }
  EXPECT_EQ(host_cache::cached_bytes(), size_t(4) << 20);
  Tensor u = Tensor::zeros({1024, 1024}, DType::F32);
  EXPECT_EQ(u.raw(), first);
  for (int64_t i = 0; i < u.numel(); i += 4099) EXPECT_EQ(u.data<float>()[i], 0.0f);  // zeros() still zeroes
}

}  // namespace
}  // namespace hl
