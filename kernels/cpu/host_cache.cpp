#include "kernels/cpu/host_cache.h"

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <list>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

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

// Free blocks in the order they were given back (oldest first), and by size for lookup.
// When a block does not fit under the capacity, the oldest are returned to the system to
// make room: the sizes in use now replace sizes no longer asked for (a training step
// after a larger batch or an epoch, whose blocks would otherwise fill the cache and send
// every block of the new size back to the system, and every step to fresh zeroed pages).
struct Block {
  size_t size;
  void* p;
};
struct Cache {
  std::mutex mutex;
  std::list<Block> by_age;                                         // oldest first
  std::multimap<size_t, std::list<Block>::iterator> by_size;       // block size -> block
  std::unordered_map<void*, size_t> lent_larger;  // blocks handed out for a smaller request: their real size
  size_t free_bytes = 0;
  size_t in_use = 0;       // bytes of cache-sized blocks handed out and not yet given back
  size_t peak_in_use = 0;  // the most of those at any one time so far
  size_t capacity = capacity_from_env();
};

Cache& cache() {
  static Cache* c = new Cache;  // never destroyed: tensors may die during static destruction
  return *c;
}

// Returns the block given back longest ago to the system (c.mutex held, cache not empty).
void evict_oldest(Cache& c) {
  const Block oldest = c.by_age.front();
  auto [first, last] = c.by_size.equal_range(oldest.size);
  for (auto it = first; it != last; ++it)
    if (it->second == c.by_age.begin()) {
      c.by_size.erase(it);
      break;
    }
  c.by_age.pop_front();
  c.free_bytes -= oldest.size;
  std::free(oldest.p);
}

// Takes the free block `it` out of the cache (c.mutex held).
void* take(Cache& c, std::multimap<size_t, std::list<Block>::iterator>::iterator it) {
  void* p = it->second->p;
  c.free_bytes -= it->first;
  c.by_age.erase(it->second);
  c.by_size.erase(it);
  return p;
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
    // The smallest free block that fits, if it is at most twice the size asked for (a
    // step's shapes vary a little: the last batch of an epoch, validation, padding).
    const auto it = c.by_size.lower_bound(size);
    if (it != c.by_size.end() && it->first <= 2 * size) {
      if (it->first != size) c.lent_larger.emplace(it->second->p, it->first);
      c.in_use += it->first;
      c.peak_in_use = std::max(c.peak_in_use, c.in_use);
      return take(c, it);
    }
    // A miss: before taking fresh memory from the system, give back cached blocks (oldest
    // first) until the cache plus the blocks in use fit within the most the program has
    // had in use at once. Without this a run whose shapes change (training steps, then
    // validation and test batches of other sizes) kept every shape's blocks: 3.9 GB
    // resident for a batch-300 training step whose blocks in use peak at 1.2 GB (issue 18).
    // (Giving back as much as each miss asks for, whatever the peak, was tried: with the
    // step's shapes in flux it sent 1.7 GB a fold-epoch back to fresh pages.)
    const size_t in_use = c.in_use + size;
    c.peak_in_use = std::max(c.peak_in_use, in_use);
    while (in_use + c.free_bytes > c.peak_in_use && !c.by_age.empty()) evict_oldest(c);
    void* p = system_allocate(size);  // may throw: count the block only once it exists
    c.in_use = in_use;
    return p;
  }
  return system_allocate(size);
}

void release(void* p, size_t nbytes) {
  if (!p) return;
  size_t size = block_size(nbytes);
  if (HL_HOST_CACHE_ENABLED && size >= kMinCachedBytes) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    if (const auto lent = c.lent_larger.find(p); lent != c.lent_larger.end()) {
      size = lent->second;
      c.lent_larger.erase(lent);
    }
    c.in_use -= std::min(c.in_use, size);
    if (size <= c.capacity) {
      while (c.free_bytes + size > c.capacity) evict_oldest(c);
      c.by_age.push_back({size, p});
      c.by_size.emplace(size, std::prev(c.by_age.end()));
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
  for (const Block& b : c.by_age) std::free(b.p);
  c.by_age.clear();
  c.by_size.clear();
  c.free_bytes = 0;
  c.peak_in_use = c.in_use;
}

size_t capacity() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.capacity;
}

void set_capacity(size_t bytes) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.capacity = bytes;
  while (c.free_bytes > c.capacity) evict_oldest(c);
}

}  // namespace hl::host_cache
