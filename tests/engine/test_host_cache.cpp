// kernels/cpu/host_cache: large host blocks are reused for requests of the same size, small
// ones are not cached, every block is 64-byte aligned, the cache's byte count is exact and
// trim() empties it; a full cache makes room for a block given back by returning the
// oldest ones to the system. Under AddressSanitizer the cache is bypassed by design (so reuse is
// not expected there).
#include <gtest/gtest.h>

#include <cstdint>
#include <set>

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

// A full cache (16 MiB here: three 4-MiB blocks of one size) still takes a 6-MiB block
// of a new size by returning the oldest 4-MiB block, so a new shape (a batch-32 step after
// a batch-300 epoch) is served from the cache from its second step on. Before, the new
// block went back to the system and every later request of its size faulted in fresh pages.
TEST(HostCacheEviction, NewSizesReplaceTheOldestBlocks) {
  if (!kCacheEnabled) GTEST_SKIP() << "AddressSanitizer build: the cache is bypassed";
  const size_t saved_capacity = host_cache::capacity();
  const size_t mib = size_t(1) << 20;
  host_cache::trim();
  host_cache::set_capacity(16 * mib);
  void* old_blocks[3];
  for (void*& p : old_blocks) p = host_cache::allocate(4 * mib);
  for (void* p : old_blocks) host_cache::release(p, 4 * mib);  // given back oldest first
  EXPECT_EQ(host_cache::cached_bytes(), 12 * mib);

  void* fresh = host_cache::allocate(6 * mib);  // not cached: from the system
  host_cache::release(fresh, 6 * mib);          // 12 + 6 > 16: the oldest 4 MiB leaves
  EXPECT_EQ(host_cache::cached_bytes(), 14 * mib);
  EXPECT_EQ(host_cache::allocate(6 * mib), fresh);  // the new size is served from the cache
  EXPECT_EQ(host_cache::cached_bytes(), 8 * mib);
  const std::set<void*> left = {host_cache::allocate(4 * mib), host_cache::allocate(4 * mib)};
  EXPECT_EQ(left, (std::set<void*>{old_blocks[1], old_blocks[2]}));  // the two newest stayed
  EXPECT_EQ(host_cache::cached_bytes(), 0u);
  for (void* p : left) host_cache::release(p, 4 * mib);
  host_cache::release(fresh, 6 * mib);

  // A block larger than the whole capacity is returned itself and evicts nothing.
  const size_t before = host_cache::cached_bytes();
  void* huge = host_cache::allocate(32 * mib);
  host_cache::release(huge, 32 * mib);
  EXPECT_EQ(host_cache::cached_bytes(), before);

  host_cache::set_capacity(4 * mib);  // shrinking returns the oldest blocks until it fits
  EXPECT_LE(host_cache::cached_bytes(), 4 * mib);
  host_cache::set_capacity(saved_capacity);
  host_cache::trim();
}

}  // namespace
}  // namespace hl
