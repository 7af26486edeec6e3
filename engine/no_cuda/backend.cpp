// The CUDA backend of a build configured with HL_CUDA=OFF: no device is ever available,
// and anything that would need one throws a message saying so. Pinned host memory falls
// back to ordinary aligned host memory, so code that asks for pinned staging buffers
// works unchanged on CPU-only builds.
#include <cstdlib>
#include <new>

#include "engine/cuda_backend.h"
#include "engine/device.h"
#include "engine/error.h"

namespace hl {

bool cuda_available() { return false; }
int cuda_device_count() { return 0; }

namespace cuda_backend {
namespace {
[[noreturn]] void no_cuda() {
  throw Error("this build of hl has no CUDA backend (it was configured with HL_CUDA=OFF); "
              "rebuild with -DHL_CUDA=ON or use --device cpu");
}
constexpr size_t kHostAlignment = 64;
}  // namespace

bool built_with_cuda() { return false; }

void* device_alloc(size_t, int) { no_cuda(); }
void device_free(void*, int) {}
ArenaStats arena_stats(int) { return {}; }
void arena_release_cached(int) {}

void* pinned_alloc(size_t nbytes) {
  const size_t rounded = (nbytes + kHostAlignment - 1) / kHostAlignment * kHostAlignment;
  void* p = std::aligned_alloc(kHostAlignment, rounded == 0 ? kHostAlignment : rounded);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void pinned_free(void* ptr) { std::free(ptr); }

void copy(void*, Device, const void*, Device, size_t) { no_cuda(); }
void* current_stream(int) { no_cuda(); }
void set_device(int) { no_cuda(); }
void synchronize(int) { no_cuda(); }

}  // namespace cuda_backend
}  // namespace hl
