// A cache of large host blocks for CPU tensors.
//
// Why: a training step allocates the same large activations and gradients every step
// (hundreds of MB at the paper's batch of 300). glibc serves blocks above its mmap
// threshold (at most 32 MiB) with fresh mmaps, so every step paid for the kernel zeroing
// every page again (`clear_page_erms` was 21% of the CPU training step in perf). Freed
// blocks of at least kMinCachedBytes are kept here and handed out again for a request of
// the same size (rounded up to whole pages); smaller blocks go to malloc, which reuses its own heap.
//
// The cache holds at most $HL_HOST_CACHE_MB MiB (default 4096) of free blocks; a block
// that does not fit is returned to the system. Builds with AddressSanitizer bypass the
// cache so that use-after-free of a tensor's memory is still caught.
// Thread-safe. No CUDA twin: device memory has its own caching arena (engine/cuda/arena.cpp).
// Tests: tests/engine/test_host_cache.cpp.
#pragma once
#include <cstddef>

namespace hl::host_cache {

inline constexpr size_t kAlignment = 64;  // a cache line; what AVX-512 loads like
inline constexpr size_t kMinCachedBytes = size_t(1) << 20;

// nbytes (may be 0) of kAlignment-aligned memory; throws hl::Error when out of memory.
void* allocate(size_t nbytes);
// Gives back a block from allocate(nbytes) (same nbytes).
void release(void* p, size_t nbytes);

// Bytes currently held free in the cache, and a way to give them all back.
size_t cached_bytes();
void trim();

}  // namespace hl::host_cache
