// kernels/cpu/host_cache: large host blocks are reused for any request they can hold, small
// ones are not cached, every block is 64-byte aligned, the cache's byte count is exact and
// trim() empties it; a full cache makes room for a block given back by returning the
// oldest ones to the system. Under AddressSanitizer the cache is bypassed by design (so reuse is
// not expected there).
#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <vector>

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

// A full cache (16 MiB here: three 4-MiB blocks of one size) takes a 4-MiB block of a
// newer shape by returning the oldest block, so the sizes in use now replace those no
// longer asked for (a batch-32 step after a batch-300 epoch is served from the cache
// from its second step on; before, the new block went back to the system and every
// later request of its size faulted in fresh pages).
TEST(HostCacheEviction, NewSizesReplaceTheOldestBlocks) {
  if (!kCacheEnabled) GTEST_SKIP() << "AddressSanitizer build: the cache is bypassed";
  const size_t saved_capacity = host_cache::capacity();
  const size_t mib = size_t(1) << 20;
  host_cache::trim();
  host_cache::set_capacity(16 * mib);
  void* old_blocks[4];
  for (void*& p : old_blocks) p = host_cache::allocate(4 * mib);
  for (void* p : old_blocks) host_cache::release(p, 4 * mib);  // given back oldest first
  EXPECT_EQ(host_cache::cached_bytes(), 16 * mib);

  // 9 MiB: no block fits, so 12 MiB of the oldest go back to the system first (at least
  // the 9 asked for); the newest 4-MiB block stays.
  void* fresh = host_cache::allocate(9 * mib);
  EXPECT_EQ(host_cache::cached_bytes(), 4 * mib);
  host_cache::release(fresh, 9 * mib);  // 4 + 9 <= 16: kept
  EXPECT_EQ(host_cache::cached_bytes(), 13 * mib);
  EXPECT_EQ(host_cache::allocate(9 * mib), fresh);  // the new size is served from the cache
  EXPECT_EQ(host_cache::allocate(4 * mib), old_blocks[3]);
  EXPECT_EQ(host_cache::cached_bytes(), 0u);
  host_cache::release(old_blocks[3], 4 * mib);
  host_cache::release(fresh, 9 * mib);

  // A block larger than the whole capacity is returned itself (and its miss empties
  // the cache, which holds less than it asks for).
  void* huge = host_cache::allocate(32 * mib);
  EXPECT_EQ(host_cache::cached_bytes(), 0u);
  host_cache::release(huge, 32 * mib);
  EXPECT_EQ(host_cache::cached_bytes(), 0u);

  host_cache::release(host_cache::allocate(4 * mib), 4 * mib);
  host_cache::release(host_cache::allocate(9 * mib), 9 * mib);
  host_cache::set_capacity(4 * mib);  // shrinking returns the oldest blocks until it fits
  EXPECT_LE(host_cache::cached_bytes(), 4 * mib);
  host_cache::set_capacity(saved_capacity);
  host_cache::trim();
}

// A request is served by the smallest free block that can hold it, whatever its size
// (its pages are resident already), and the block goes back to the cache whole when the
// smaller request releases it.
TEST(HostCache, SmallerRequestsTakeTheSmallestBlockThatFits) {
  if (!kCacheEnabled) GTEST_SKIP() << "AddressSanitizer build: the cache is bypassed";
  const size_t mib = size_t(1) << 20;
  host_cache::trim();
  void* b6 = host_cache::allocate(6 * mib);
  void* b10 = host_cache::allocate(10 * mib);
  host_cache::release(b10, 10 * mib);
  host_cache::release(b6, 6 * mib);
  EXPECT_EQ(host_cache::cached_bytes(), 16 * mib);
  void* p = host_cache::allocate(5 * mib);  // 6 and 10 both fit; 6 is the smaller
  EXPECT_EQ(p, b6);
  EXPECT_EQ(host_cache::cached_bytes(), 10 * mib);
  host_cache::release(p, 5 * mib);  // back at its real size
  EXPECT_EQ(host_cache::cached_bytes(), 16 * mib);
  void* q = host_cache::allocate(2 * mib);  // 6 is the smallest that fits
  EXPECT_EQ(q, b6);
  void* r = host_cache::allocate(2 * mib);  // only 10 is left: it holds 2, so it is lent
  EXPECT_EQ(r, b10);
  EXPECT_EQ(host_cache::cached_bytes(), 0u);
  void* s = host_cache::allocate(1 * mib);  // nothing free: a fresh block
  EXPECT_NE(s, b6);
  EXPECT_NE(s, b10);
  host_cache::release(q, 2 * mib);
  host_cache::release(r, 2 * mib);
  host_cache::release(s, 1 * mib);
  EXPECT_EQ(host_cache::cached_bytes(), 17 * mib);
  host_cache::trim();
}

// The bound the miss policy gives: a program that alternates between two sets of shapes
// keeps the cache plus the blocks in use within the two sets' total, and stops taking
// memory from the system once it has run each set once (the first set's small requests
// are then served by the second set's blocks, and its 7-MiB request by a fresh block
// that the second set's requests leave free).
TEST(HostCache, AlternatingShapesStayWithinThePeakInUse) {
  if (!kCacheEnabled) GTEST_SKIP() << "AddressSanitizer build: the cache is bypassed";
  const size_t mib = size_t(1) << 20;
  host_cache::trim();
  const std::vector<size_t> step_a = {3 * mib, 3 * mib, 7 * mib}, step_b = {16 * mib, 40 * mib};
  size_t mapped_after_first_round = 0;
  for (int round = 0; round < 4; ++round) {
    for (const auto* sizes : {&step_a, &step_b}) {
      std::vector<void*> in_use;
      for (size_t s : *sizes) in_use.push_back(host_cache::allocate(s));
      for (size_t i = 0; i < in_use.size(); ++i) host_cache::release(in_use[i], (*sizes)[i]);
      EXPECT_LE(host_cache::cached_bytes(), size_t(56 + 13) * mib) << "round " << round;
    }
    if (round == 1) mapped_after_first_round = host_cache::stats().bytes_mapped;
    if (round > 1) {
      EXPECT_EQ(host_cache::stats().bytes_mapped, mapped_after_first_round) << "round " << round;
    }
  }
  host_cache::trim();
}

// A training step's blocks serve the smaller shapes that come between steps (the last,
// partial batch of an epoch, then validation at another size) instead of being returned
// to the system for them: the next training step finds all of its blocks resident. Before
// (a block lent only for a request at least half its size), validation's 2-MiB request
// missed and returned the 6-MiB block to keep within the bound, and every training step
// after validation took 6 MiB of fresh zeroed pages from the system (at batch 300, about
// 0.7 GB a fold-epoch; issue 18, docs/benchmarks.md "Fourth pass").
TEST(HostCache, TheStepsShapesShareResidentBlocks) {
  if (!kCacheEnabled) GTEST_SKIP() << "AddressSanitizer build: the cache is bypassed";
  const size_t mib = size_t(1) << 20;
  host_cache::trim();
  auto phase = [&](std::vector<size_t> sizes) {  // blocks in use together, then all released
    std::vector<void*> blocks;
    for (size_t s : sizes) blocks.push_back(host_cache::allocate(s));
    for (size_t i = 0; i < sizes.size(); ++i) host_cache::release(blocks[i], sizes[i]);
    return std::set<void*>(blocks.begin(), blocks.end());
  };
  const std::set<void*> training = phase({8 * mib, 6 * mib});
  EXPECT_EQ(host_cache::cached_bytes(), 14 * mib);
  const size_t mapped = host_cache::stats().bytes_mapped, unmapped = host_cache::stats().bytes_unmapped;
  for (int epoch = 0; epoch < 3; ++epoch) {
    EXPECT_EQ(phase({8 * mib, 6 * mib}), training) << "epoch " << epoch;
    phase({5 * mib, 4 * mib});  // the last batch
    phase({2 * mib});           // validation
    EXPECT_EQ(host_cache::cached_bytes(), 14 * mib) << "epoch " << epoch;
  }
  EXPECT_EQ(phase({8 * mib, 6 * mib}), training);
  EXPECT_EQ(host_cache::stats().bytes_mapped, mapped);  // nothing taken from the system after the first step
  EXPECT_EQ(host_cache::stats().bytes_unmapped, unmapped);
  host_cache::trim();
}

// A step that asks for the same sizes every time (some blocks in use together, some
// one after another) is served from the cache from its second run on: the bound does
// not send its blocks back to the system (a version that gave back as much as each miss
// asked for did, 1.7 GB of fresh pages per fold-epoch of training).
TEST(HostCache, ARepeatedStepIsServedFromTheCache) {
  if (!kCacheEnabled) GTEST_SKIP() << "AddressSanitizer build: the cache is bypassed";
  const size_t mib = size_t(1) << 20;
  host_cache::trim();
  auto run_step = [&] {
    std::set<void*> seen;
    void* a = host_cache::allocate(8 * mib);
    void* b = host_cache::allocate(5 * mib);
    seen.insert({a, b});
    host_cache::release(a, 8 * mib);
    void* c = host_cache::allocate(12 * mib);  // while b is in use
    seen.insert(c);
    host_cache::release(b, 5 * mib);
    host_cache::release(c, 12 * mib);
    void* d = host_cache::allocate(3 * mib);  // alone
    seen.insert(d);
    host_cache::release(d, 3 * mib);
    return seen;
  };
  run_step();
  const std::set<void*> second = run_step();
  EXPECT_EQ(run_step(), second);
  EXPECT_EQ(run_step(), second);
  host_cache::trim();
}

}  // namespace
}  // namespace hl
