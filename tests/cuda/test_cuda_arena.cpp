// The caching device arena (engine/cuda/arena.cpp): size classes, reuse without
// cudaMalloc, statistics, release, errors, threads.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "cuda/cuda_test_util.h"
#include "engine/cuda_backend.h"
#include "engine/ops.h"
#include "support/test_support.h"

namespace hl {
namespace {

namespace cb = cuda_backend;

TEST(CudaArena, SecondAllocationOfASizeClassIsACacheHit) {
  HL_REQUIRE_CUDA();
  void* p = cb::device_alloc(1000, 0);
  cb::device_free(p, 0);
  const cb::ArenaStats before = cb::arena_stats(0);
  void* q = cb::device_alloc(900, 0);  // 900 and 1000 bytes share the 1024-byte class
  const cb::ArenaStats after = cb::arena_stats(0);
  EXPECT_EQ(q, p);
  EXPECT_EQ(after.cuda_malloc_calls, before.cuda_malloc_calls) << "a cached block must not call cudaMalloc";
  EXPECT_EQ(after.cache_hits, before.cache_hits + 1);
  EXPECT_EQ(after.bytes_in_use, before.bytes_in_use + 1024);
  cb::device_free(q, 0);
}

TEST(CudaArena, StatsCountRoundedSizes) {
  HL_REQUIRE_CUDA();
  const cb::ArenaStats s0 = cb::arena_stats(0);
  void* small = cb::device_alloc(1, 0);                      // 512 bytes
  void* large = cb::device_alloc((size_t{3} << 20) + 1, 0);  // rounded to 4 MiB
  const cb::ArenaStats s1 = cb::arena_stats(0);
  EXPECT_EQ(s1.bytes_in_use - s0.bytes_in_use, 512u + (size_t{4} << 20));
  EXPECT_GE(s1.bytes_reserved, s1.bytes_in_use);
  cb::device_free(small, 0);
  cb::device_free(large, 0);
  const cb::ArenaStats s2 = cb::arena_stats(0);
  EXPECT_EQ(s2.bytes_in_use, s0.bytes_in_use);
  EXPECT_EQ(s2.bytes_reserved, s1.bytes_reserved) << "freed blocks stay cached";
}

TEST(CudaArena, SteadyStateLoopNeverCallsCudaMalloc) {
  HL_REQUIRE_CUDA();
  Tensor a = ops::uniform({512, 512}, 1, 0, -1, 1, Device::cuda());
  Tensor b = ops::uniform({512, 512}, 2, 0, -1, 1, Device::cuda());
  auto step = [&] { return ops::sum(ops::relu(ops::add(ops::matmul(a, b), a)), 1); };
  step();  // the first iteration fills the cache
  const size_t mallocs = cb::arena_stats(0).cuda_malloc_calls;
  for (int i = 0; i < 50; ++i) step();
  cb::synchronize(0);
  EXPECT_EQ(cb::arena_stats(0).cuda_malloc_calls, mallocs);
}

TEST(CudaArena, ReleaseReturnsCachedBlocksToTheDriver) {
  HL_REQUIRE_CUDA();
  std::vector<void*> blocks;
  for (size_t kib : {1, 64, 3000}) blocks.push_back(cb::device_alloc(kib << 10, 0));
  void* kept = cb::device_alloc(5000, 0);
  for (void* p : blocks) cb::device_free(p, 0);
  cb::arena_release_cached(0);
  const cb::ArenaStats s = cb::arena_stats(0);
  EXPECT_EQ(s.bytes_reserved, s.bytes_in_use) << "nothing cached after a release";
  const size_t mallocs = s.cuda_malloc_calls;
  cb::device_free(cb::device_alloc(64 << 10, 0), 0);
  EXPECT_EQ(cb::arena_stats(0).cuda_malloc_calls, mallocs + 1) << "a released class needs cudaMalloc again";
  cb::device_free(kept, 0);
}

TEST(CudaArena, ZeroBytesGetDistinctPointers) {
  HL_REQUIRE_CUDA();
  void* a = cb::device_alloc(0, 0);
  void* b = cb::device_alloc(0, 0);
  EXPECT_NE(a, nullptr);
  EXPECT_NE(a, b);
  cb::device_free(a, 0);
  cb::device_free(b, 0);
  Tensor empty = Tensor::empty({0, 3}, DType::F32, Device::cuda());
  EXPECT_EQ(empty.to(Device::cpu()).numel(), 0);
}

TEST(CudaArena, OutOfMemoryIsAnErrorAndLeavesNoStaleStatus) {
  HL_REQUIRE_CUDA();
  try {
    cb::device_alloc(size_t{1} << 50, 0);  // 1 PiB
    FAIL() << "expected hl::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("out of CUDA memory on cuda:0"), std::string::npos) << e.what();
  }
  // The failed cudaMalloc's status must not surface at the next launch check.
  Tensor x = ops::uniform({1000}, 3, 0, -1, 1, Device::cuda());
  EXPECT_NO_THROW(ops::relu(x).to(Device::cpu()));
}

TEST(CudaArena, BadDeviceIndexNamesIndexAndCount) {
  HL_REQUIRE_CUDA();
  const int count = cuda_device_count();
  for (int bad : {count, -1}) {
    try {
      cb::device_alloc(16, bad);
      FAIL() << "expected hl::Error for cuda:" << bad;
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("index " + std::to_string(bad)), std::string::npos) << msg;
      EXPECT_NE(msg.find(std::to_string(count) + " device(s) visible"), std::string::npos) << msg;
    }
  }
  EXPECT_NO_THROW(cb::device_free(reinterpret_cast<void*>(0x1234), 0)) << "unknown pointers are logged, not thrown";
}

TEST(CudaArena, ThreadsShareTheArenaSafely) {
  HL_REQUIRE_CUDA();
  const size_t in_use = cb::arena_stats(0).bytes_in_use;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < 200; ++i) {
        Tensor x = ops::uniform({64 + 32 * ((i + t) % 5)}, static_cast<uint64_t>(t), 0, -1, 1, Device::cuda());
        Tensor y = ops::scale(x, 2.0f);
        (void)y;
      }
      cb::synchronize(0);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(cb::arena_stats(0).bytes_in_use, in_use);
}

TEST(CudaArena, BlocksOfAnExitedThreadServeOtherStreams) {
  HL_REQUIRE_CUDA();
  constexpr size_t kOdd = 777 * 1024;  // a class no other test uses
  void* from_thread = nullptr;
  std::thread([&] {
    from_thread = cb::device_alloc(kOdd, 0);
    cb::device_free(from_thread, 0);
  }).join();  // the thread's stream is drained and destroyed; its block becomes idle
  const size_t hits = cb::arena_stats(0).cache_hits;
  void* here = cb::device_alloc(kOdd, 0);
  EXPECT_EQ(here, from_thread);
  EXPECT_EQ(cb::arena_stats(0).cache_hits, hits + 1);
  cb::device_free(here, 0);
}

}  // namespace
}  // namespace hl
