#include "kernels/cpu/host_cache.h"

#include <cstdlib>
#include <map>
#include <mutex>
#include <string>

#include "kernels/common/error.h"

#if defined(__SANITIZE_ADDRESS__)
#define HL_HOST_CACHE_ENABLED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HL_HOST_CACHE_ENABLED 0
#endif
#endif
#ifndef HL_HOST_CACHE_ENABLED
#define HL_HOST_CACHE_ENABLED 1
#endif

namespace hl::host_cache {

namespace {

constexpr size_t kPage = 4096;
size_t round_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

// Blocks are sized in whole pages, so requests that differ by a few bytes share them.
size_t block_size(size_t nbytes) { return round_up(nbytes == 0 ? 1 : nbytes, nbytes >= kMinCachedBytes ? kPage : kAlignment); }

size_t capacity_from_env() {
  const char* env = std::getenv("HL_HOST_CACHE_MB");
  if (!env || !*env) return size_t(4096) << 20;
  char* end = nullptr;
  const unsigned long long mb = std::strtoull(env, &end, 10);
  if (end == env || *end != '\0') return size_t(4096) << 20;  // unparsable: the default
  return static_cast<size_t>(mb) << 20;
}

struct Cache {
  std::mutex mutex;
  std::multimap<size_t, void*> free_blocks;  // block size -> block
  size_t free_bytes = 0;
  size_t capacity = capacity_from_env();
};

Cache& cache() {
  static Cache* c = new Cache;  // never destroyed: tensors may die during static destruction
  return *c;
}

void* system_allocate(size_t size) {
  void* p = std::aligned_alloc(kAlignment, size);
  if (!p) throw Error("out of host memory allocating " + std::to_string(size) + " bytes");
  return p;
}

}  // namespace

void* allocate(size_t nbytes) {
  const size_t size = block_size(nbytes);
  if (HL_HOST_CACHE_ENABLED && size >= kMinCachedBytes) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    // Exact sizes only: a training step asks for the same sizes every step, and handing
    // out a larger block would need its real size remembered until release().
    const auto it = c.free_blocks.find(size);
    if (it != c.free_blocks.end()) {
      void* p = it->second;
      c.free_bytes -= size;
      c.free_blocks.erase(it);
      return p;
    }
  }
  return system_allocate(size);
}

void release(void* p, size_t nbytes) {
  if (!p) return;
  const size_t size = block_size(nbytes);
  if (HL_HOST_CACHE_ENABLED && size >= kMinCachedBytes) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    if (c.free_bytes + size <= c.capacity) {
      c.free_blocks.emplace(size, p);
      c.free_bytes += size;
      return;
    }
  }
  std::free(p);
}

size_t cached_bytes() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.free_bytes;
}

void trim() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  for (auto& [size, p] : c.free_blocks) std::free(p);
  c.free_blocks.clear();
  c.free_bytes = 0;
}

}  // namespace hl::host_cache
