// A cache of large host blocks for CPU tensors.
//
// Why: a training step allocates the same large activations and gradients every step
// (hundreds of MB at the paper's batch of 300). glibc serves blocks above its mmap
// threshold (at most 32 MiB) with fresh mmaps, so every step paid for the kernel zeroing
// every page again (`clear_page_erms` was 21% of the CPU training step in perf). Freed
// blocks of at least kMinCachedBytes are kept here and handed out again for a request of
// the same size (rounded up to whole pages), or of a size at least half the block's;
// smaller blocks go to malloc, which reuses its own heap. A request the cache cannot
// serve first returns cached blocks to the system (oldest first) until the cache plus the
// blocks in use fit within the most the program has had in use at once, instead of
// keeping the blocks of every shape it has seen (issue 18).
//
// The cache holds at most $HL_HOST_CACHE_MB MiB (default 4096) of free blocks; to make
// room for a block given back, the blocks given back longest ago are returned to the
// system (a block larger than the whole capacity is returned itself). So the sizes a
// program asks for now win over sizes it stopped asking for: without that, a 4-GB
// cache filled by an epoch at batch 300 (or any larger shape) kept sending every block
// of a later batch-32 step back to the system, ~10,000 fresh page faults per step. Builds with AddressSanitizer bypass the
// cache so that use-after-free of a tensor's memory is still caught.
// Thread-safe. No CUDA twin: device memory has its own caching arena (engine/cuda/arena.cpp).
// Tests: tests/engine/test_host_cache.cpp (HostCacheEviction runs with a 16-MiB capacity).
#pragma once
#include <cstddef>

namespace hl::host_cache {

inline constexpr size_t kAlignment = 64;  // a cache line; what AVX-512 loads like
inline constexpr size_t kMinCachedBytes = size_t(1) << 20;

// nbytes (may be 0) of kAlignment-aligned memory; throws hl::Error when out of memory.
void* allocate(size_t nbytes);
// Gives back a block from allocate(nbytes) (same nbytes).
void release(void* p, size_t nbytes);

// Bytes currently held free in the cache, and a way to give them all back (which also
// starts the high-water mark of blocks in use again from what is in use now).
size_t cached_bytes();
void trim();

// The capacity in bytes ($HL_HOST_CACHE_MB at first use), and a way to change it (the
// oldest blocks are returned to the system until the cache fits; tests use a small one).
size_t capacity();
void set_capacity(size_t bytes);

}  // namespace hl::host_cache
