// What the engine needs from the CUDA runtime, behind a header that does not include
// CUDA's: device memory from the caching arena, pinned host memory, copies, and the
// current stream. In a build without CUDA (HL_CUDA=OFF) every function that would touch
// a device throws hl::Error saying the build has no CUDA backend; in a CUDA build on a
// machine without a GPU they throw saying no device is visible.
#pragma once
#include <cstddef>
#include <cstdint>

#include "engine/device.h"

namespace hl::cuda_backend {

bool built_with_cuda();

// Caching arena (engine/cuda/arena.cpp): blocks are rounded up and kept on free lists
// per size class, so steady-state loops never call cudaMalloc.
void* device_alloc(size_t nbytes, int device);
void device_free(void* ptr, int device);

struct ArenaStats {
  size_t bytes_in_use = 0;      // handed out and not yet returned
  size_t bytes_reserved = 0;    // obtained from cudaMalloc in total (cached + in use)
  size_t cuda_malloc_calls = 0;
  size_t cache_hits = 0;        // allocations served from the free lists
};
ArenaStats arena_stats(int device);
// Returns every cached (free) block of `device` to the driver.
void arena_release_cached(int device);

void* pinned_alloc(size_t nbytes);  // page-locked host memory
void pinned_free(void* ptr);

// Copies nbytes between any two devices (host <-> device, device <-> device) on the
// current stream of the CUDA side, and waits for it: the caller may reuse src and read
// dst when this returns.
void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes);

// The stream that engine ops on `device` launch on (a non-blocking stream per device,
// per thread, created on first use). It also makes `device` the calling thread's current
// device, so that the kernel launched next on the stream runs where its data is.
// Returned as void* so that this header stays free of CUDA types; kernels take it as
// cudaStream_t.
void* current_stream(int device);
// Makes `device` the current CUDA device of the calling thread.
void set_device(int device);
// Waits for all work on the current stream of `device`.
void synchronize(int device);

}  // namespace hl::cuda_backend
