// A cache of large host blocks for CPU tensors.
//
// Why: a training step allocates the same large activations and gradients every step
// (hundreds of MB at the paper's batch of 300). glibc serves blocks above its mmap
// threshold (at most 32 MiB) with fresh mmaps, so every step paid for the kernel zeroing
// every page again (`clear_page_erms` was 21% of the CPU training step in perf). Freed
// blocks of at least kMinCachedBytes are kept here and handed out again for any request
// they can hold: the smallest free block at least as large (rounded up to whole pages).
// Its pages are resident already, so lending a larger block costs nothing, where a fresh
// one would cost its size; the step's shapes (training batch, last batch, validation,
// prediction) then share one set of blocks. Smaller blocks go to malloc, which reuses its
// own heap. Each cached block is a mapping of its own (not malloc's heap, where a freed
// block stays resident and blocks of other sizes pile up around it), so a block returned
// to the system gives its pages back. A request no free block can hold first returns
// cached blocks to the system (oldest first) until the cache plus the blocks lent fit
// within the most the program has asked for at once (or the cache is empty; blocks lent
// for smaller requests can hold more than was asked), instead of keeping the blocks of
// every shape it has seen (issue 18; docs/benchmarks.md, "Fourth pass").
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

// What the cache has done since the program started (blocks of kMinCachedBytes or more):
// requests served by a free block (of them, by a larger one) and not, and the blocks
// taken from and returned to the system; tests and benchmarks read them
// ($HL_HOST_CACHE_STATS=1 prints them on stderr at exit).
struct Stats {
  size_t hits = 0, hits_larger = 0, misses = 0;
  size_t blocks_mapped = 0, bytes_mapped = 0, blocks_unmapped = 0, bytes_unmapped = 0;
  size_t bytes_lent = 0;        // now: the blocks handed out, at their real sizes
  size_t peak_bytes_asked = 0;  // the most asked for at once (since the last trim)
};
Stats stats();

// The capacity in bytes ($HL_HOST_CACHE_MB at first use), and a way to change it (the
// oldest blocks are returned to the system until the cache fits; tests use a small one).
size_t capacity();
void set_capacity(size_t bytes);

}  // namespace hl::host_cache
