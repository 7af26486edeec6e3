// The caching device-memory arena of engine/cuda_backend.h.
//
// cudaMalloc and cudaFree are slow (they synchronise the device), so freed blocks are
// kept on free lists and handed out again; a loop that allocates the same shapes every
// iteration calls cudaMalloc only in its first iteration.
//
// Size classes: requests are rounded up to a multiple of 512 bytes up to 1 MiB and of
// 2 MiB above (cudaMalloc's own granularity for large blocks), so nearby sizes share a
// class; waste is below 512 bytes, resp. 2 MiB. A request is served only by a cached
// block of exactly its class. Each block is one cudaMalloc (no splitting), which keeps
// the arena simple; activation plans allocate few, large buffers anyway.
//
// Streams: a block remembers the stream of the thread that allocated it (the stream its
// kernels were queued on) and, when freed, goes back to the free list of that stream
// only. Reusing it on the same stream is safe without synchronising, because the new
// owner's work is queued after the old owner's. Other streams never receive it while
// work may be pending; a tensor handed to another stream must be synchronised by its
// user before it is dropped (as with PyTorch's record_stream). When a thread exits its
// streams are drained and their blocks become "idle", free for any stream.
//
// Out of memory: every cached block of the device is returned to the driver (after a
// device synchronisation) and cudaMalloc is tried once more; then hl::Error.
// Thread-safe: one mutex per device. The arenas are never destroyed: at process exit
// the driver reclaims device memory, and calling CUDA from static destructors is unsafe.
#include <cuda_runtime_api.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/cuda/runtime.h"
#include "engine/cuda_backend.h"
#include "engine/device.h"
#include "engine/error.h"
#include "engine/log.h"
#include "kernels/cuda/check.h"

namespace hl::cuda_backend {

namespace {

constexpr size_t kSmallGranule = 512;
constexpr size_t kSmallMax = size_t{1} << 20;
constexpr size_t kLargeGranule = size_t{2} << 20;
// Blocks of exited threads' streams, free for any stream.
const cudaStream_t kIdle = nullptr;

size_t size_class(size_t nbytes) {
  const size_t granule = nbytes <= kSmallMax ? kSmallGranule : kLargeGranule;
  if (nbytes > SIZE_MAX - granule) throw Error("device allocation of " + std::to_string(nbytes) + " bytes is too large");
  const size_t n = nbytes == 0 ? 1 : nbytes;  // a zero-byte tensor still gets a distinct pointer
  return (n + granule - 1) / granule * granule;
}

std::string mib(size_t bytes) { return std::to_string(static_cast<double>(bytes) / (1 << 20)) + " MiB"; }

struct Block {
  size_t size;
  cudaStream_t stream;
};

struct DeviceArena {
  std::mutex mutex;
  std::unordered_map<void*, Block> live;                                // handed out
  std::map<std::pair<cudaStream_t, size_t>, std::vector<void*>> free;  // (stream, class) -> blocks
  ArenaStats stats;
};

// One arena per visible device, made on first use; intentionally leaked (see above).
DeviceArena& arena(int device) {
  static std::vector<DeviceArena*>* arenas = [] {
    auto* v = new std::vector<DeviceArena*>();
    for (int d = 0; d < cuda_device_count(); ++d) v->push_back(new DeviceArena());
    return v;
  }();
  return *(*arenas)[static_cast<size_t>(device)];
}

// Takes a cached block of `size` for `stream`, its own first, then an idle one.
void* take_cached(DeviceArena& a, cudaStream_t stream, size_t size) {
  for (cudaStream_t key : {stream, kIdle}) {
    auto it = a.free.find({key, size});
    if (it == a.free.end() || it->second.empty()) continue;
    void* p = it->second.back();
    it->second.pop_back();
    return p;
  }
  return nullptr;
}

// Frees every cached block of `a` (caller holds the mutex and has made the device
// current). Synchronises first: cached blocks may still be read or written by kernels
// queued before they were freed.
void release_cached_locked(DeviceArena& a) {
  if (a.free.empty()) return;
  HL_CUDA_CHECK(cudaDeviceSynchronize());
  for (auto& [key, blocks] : a.free) {
    for (void* p : blocks) {
      HL_CUDA_CHECK(cudaFree(p));
      a.stats.bytes_reserved -= key.second;
    }
  }
  a.free.clear();
}

void* cuda_malloc(DeviceArena& a, int device, size_t size) {
  void* p = nullptr;
  cudaError_t status = cudaMalloc(&p, size);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // clear it, or the next launch check would report it
    HL_LOG(Info) << "cuda:" << device << " arena: out of memory for " << mib(size) << ", returning "
                 << mib(a.stats.bytes_reserved - a.stats.bytes_in_use) << " of cached blocks to the driver";
    release_cached_locked(a);
    status = cudaMalloc(&p, size);
  }
  if (status != cudaSuccess) {
    cudaGetLastError();
    throw Error("out of CUDA memory on cuda:" + std::to_string(device) + " allocating " + mib(size) + " (" +
                cudaGetErrorName(status) + "; the arena holds " + mib(a.stats.bytes_in_use) +
                " in use): use smaller batches or inputs, or free tensors first");
  }
  ++a.stats.cuda_malloc_calls;
  a.stats.bytes_reserved += size;
  HL_LOG(Debug) << "cuda:" << device << " arena: cudaMalloc " << mib(size) << " (reserved " << mib(a.stats.bytes_reserved)
                << ", in use " << mib(a.stats.bytes_in_use + size) << ")";
  return p;
}

}  // namespace

void* device_alloc(size_t nbytes, int device) {
  const size_t size = size_class(nbytes);
  cudaStream_t stream = detail::stream_for(device);  // checks the index, makes the device current
  DeviceArena& a = arena(device);
  std::lock_guard<std::mutex> lock(a.mutex);
  void* p = take_cached(a, stream, size);
  if (p) {
    ++a.stats.cache_hits;
  } else {
    p = cuda_malloc(a, device, size);
  }
  a.live.emplace(p, Block{size, stream});
  a.stats.bytes_in_use += size;
  return p;
}

void device_free(void* ptr, int device) {
  if (!ptr) return;
  // Called from Storage's destructor: report problems, never throw.
  if (device < 0 || device >= cuda_device_count()) {
    HL_LOG(Error) << "device_free: cuda:" << device << " is not a visible device; block leaked";
    return;
  }
  DeviceArena& a = arena(device);
  std::lock_guard<std::mutex> lock(a.mutex);
  auto it = a.live.find(ptr);
  if (it == a.live.end()) {
    HL_LOG(Error) << "device_free: " << ptr << " was not allocated by the cuda:" << device << " arena; ignored";
    return;
  }
  const Block b = it->second;
  a.live.erase(it);
  a.stats.bytes_in_use -= b.size;
  a.free[{b.stream, b.size}].push_back(ptr);
}

ArenaStats arena_stats(int device) {
  detail::check_device(device);
  DeviceArena& a = arena(device);
  std::lock_guard<std::mutex> lock(a.mutex);
  return a.stats;
}

void arena_release_cached(int device) {
  detail::check_device(device);
  DeviceArena& a = arena(device);
  detail::DeviceGuard guard(device);
  std::lock_guard<std::mutex> lock(a.mutex);
  release_cached_locked(a);
}

namespace detail {

void arena_forget_stream(int device, cudaStream_t stream) {
  if (device < 0 || device >= cuda_device_count()) return;
  DeviceArena& a = arena(device);
  std::lock_guard<std::mutex> lock(a.mutex);
  for (auto it = a.free.begin(); it != a.free.end();) {
    if (it->first.first != stream) {
      ++it;
      continue;
    }
    auto& idle = a.free[{kIdle, it->first.second}];
    idle.insert(idle.end(), it->second.begin(), it->second.end());
    it = a.free.erase(it);
  }
  // Blocks still handed out go to the idle lists when they are freed.
  for (auto& [ptr, block] : a.live)
    if (block.stream == stream) block.stream = kIdle;
}

}  // namespace detail

}  // namespace hl::cuda_backend
