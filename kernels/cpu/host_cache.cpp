#include "kernels/cpu/host_cache.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdio>
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
  size_t lent = 0;             // bytes of the cache's blocks handed out and not yet given back (real sizes)
  size_t asked = 0;            // the block sizes asked for of those (<= lent: a block may be larger)
  size_t peak_asked = 0;       // the most of `asked` at any one time so far
  Stats stats;
  size_t capacity = capacity_from_env();
};

void print_stats_at_exit();

Cache& cache() {
  static Cache* c = [] {
    // $HL_HOST_CACHE_STATS=1: one line of statistics on stderr at exit (benchmarks).
    if (const char* env = std::getenv("HL_HOST_CACHE_STATS"); env && std::string(env) == "1")
      std::atexit(print_stats_at_exit);
    return new Cache;  // never destroyed: tensors may die during static destruction
  }();
  return *c;
}

// A block of its own mapping: returning it gives its pages back to the system at once.
// (From malloc, a block under glibc's mmap threshold, which freeing one large block raises
// to 32 MiB, lives in the heap, where a freed block stays resident and heap blocks of
// other sizes pile up around it: 1,075 against 900 MB peak at 80 videos, issue 18.)
void* map_block(Cache& c, size_t size) {
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw Error("out of host memory allocating " + std::to_string(size) + " bytes");
  c.stats.blocks_mapped += 1;
  c.stats.bytes_mapped += size;
  return p;
}

void unmap_block(Cache& c, void* p, size_t size) {
  munmap(p, size);
  c.stats.blocks_unmapped += 1;
  c.stats.bytes_unmapped += size;
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
  unmap_block(c, oldest.p, oldest.size);
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
    c.asked += size;
    c.peak_asked = std::max(c.peak_asked, c.asked);
    // The smallest free block that fits, whatever its size: its pages are resident
    // already, so lending it costs no memory, where a fresh block would cost its size
    // and, once the cache is over its bound, send another resident block back to the
    // system and a later step to fresh zeroed pages. (The training step, validation, the
    // last batch and prediction ask for different sizes; serving only requests at least
    // half a block's size sent 0.7 GB of blocks a fold-epoch to fresh pages, issue 18.)
    const auto it = c.by_size.lower_bound(size);
    if (it != c.by_size.end()) {
      if (it->first != size) {
        c.lent_larger.emplace(it->second->p, it->first);
        c.stats.hits_larger += 1;
      }
      c.stats.hits += 1;
      c.lent += it->first;
      return take(c, it);
    }
    // A miss: before taking fresh memory from the system, give back cached blocks (oldest
    // first) until the cache plus the blocks lent fit within the most the program has
    // asked for at once. Without this a run whose shapes change (training steps, then
    // validation and test batches of other sizes) kept every shape's blocks: 3.9 GB
    // resident for a batch-300 training step whose blocks in use peak at 1.2 GB (issue 18).
    c.stats.misses += 1;
    while (c.lent + size + c.free_bytes > c.peak_asked && !c.by_age.empty()) evict_oldest(c);
    void* p;
    try {
      p = map_block(c, size);
    } catch (...) {
      c.asked -= size;
      throw;
    }
    c.lent += size;
    return p;
  }
  return system_allocate(size);
}

void release(void* p, size_t nbytes) {
  if (!p) return;
  const size_t asked = block_size(nbytes);
  size_t size = asked;
  if (HL_HOST_CACHE_ENABLED && size >= kMinCachedBytes) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    if (const auto lent = c.lent_larger.find(p); lent != c.lent_larger.end()) {
      size = lent->second;
      c.lent_larger.erase(lent);
    }
    c.lent -= std::min(c.lent, size);
    c.asked -= std::min(c.asked, asked);
    if (size <= c.capacity) {
      while (c.free_bytes + size > c.capacity) evict_oldest(c);
      c.by_age.push_back({size, p});
      c.by_size.emplace(size, std::prev(c.by_age.end()));
      c.free_bytes += size;
      return;
    }
    unmap_block(c, p, size);
    return;
  }
  std::free(p);
}

size_t cached_bytes() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.free_bytes;
}

Stats stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  Stats s = c.stats;
  s.bytes_lent = c.lent;
  s.peak_bytes_asked = c.peak_asked;
  return s;
}

namespace {
void print_stats_at_exit() {
  const Stats s = stats();
  std::fprintf(stderr,
               "host cache: %zu hits (%zu by a larger block), %zu misses; %zu blocks mapped (%zu MiB), %zu "
               "returned (%zu MiB); at most %zu MiB asked for at once, %zu MiB cached at exit\n",
               s.hits, s.hits_larger, s.misses, s.blocks_mapped, s.bytes_mapped >> 20, s.blocks_unmapped,
               s.bytes_unmapped >> 20, s.peak_bytes_asked >> 20, cached_bytes() >> 20);
}
}  // namespace

void trim() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  for (const Block& b : c.by_age) unmap_block(c, b.p, b.size);
  c.by_age.clear();
  c.by_size.clear();
  c.free_bytes = 0;
  c.peak_asked = c.asked;
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
