// The CUDA backend of engine/cuda_backend.h for a build with HL_CUDA enabled: device
// discovery, per-thread streams, pinned host memory and copies. The caching arena is in
// engine/cuda/arena.cpp.
//
// A CUDA build must work on a machine without a GPU or without a driver: the device
// count is asked once, a failure counts as zero devices (and is remembered for the error
// message), and nothing else touches the driver until a CUDA tensor is asked for.
#include <cuda_runtime_api.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "engine/cuda/runtime.h"
#include "engine/cuda_backend.h"
#include "engine/device.h"
#include "engine/error.h"
#include "engine/log.h"
#include "kernels/cuda/check.h"

namespace hl {

namespace {

struct DeviceCount {
  int count = 0;
  std::string why_none;  // the runtime's answer when count is 0
};

const DeviceCount& device_count_once() {
  static const DeviceCount result = [] {
    DeviceCount r;
    const cudaError_t status = cudaGetDeviceCount(&r.count);
    if (status != cudaSuccess) {
      r.count = 0;
      r.why_none = std::string("cudaGetDeviceCount: ") + cudaGetErrorName(status) + ", " + cudaGetErrorString(status);
      cudaGetLastError();  // do not leave the error for the next launch check to find
    } else if (r.count == 0) {
      r.why_none = "cudaGetDeviceCount found 0 devices";
    }
    return r;
  }();
  return result;
}

}  // namespace

int cuda_device_count() { return device_count_once().count; }
bool cuda_available() { return cuda_device_count() > 0; }

namespace cuda_backend {

namespace detail {

void check_device(int device) {
  const DeviceCount& dc = device_count_once();
  if (dc.count == 0)
    throw Error("cannot use cuda:" + std::to_string(device) + ": no CUDA device is visible (" + dc.why_none +
                "); run on a machine with an NVIDIA GPU and driver, check CUDA_VISIBLE_DEVICES, or use --device cpu");
  if (device < 0 || device >= dc.count)
    throw Error("CUDA device index " + std::to_string(device) + " is out of range: " + std::to_string(dc.count) +
                " device(s) visible (cuda:0 to cuda:" + std::to_string(dc.count - 1) + ")");
}

DeviceGuard::DeviceGuard(int device) {
  HL_CUDA_CHECK(cudaGetDevice(&previous_));
  if (previous_ != device) HL_CUDA_CHECK(cudaSetDevice(device));
}

DeviceGuard::~DeviceGuard() {
  int now = -1;
  if (cudaGetDevice(&now) == cudaSuccess && now != previous_) cudaSetDevice(previous_);
}

namespace {

// One non-blocking stream per device, per thread. Non-blocking: it does not synchronise
// with the legacy default stream, which libraries or user code may use. At thread exit
// each stream is drained and destroyed, and the arena is told, so that blocks it used
// become free for other streams. If the runtime is already unloading (a thread that
// outlives main), the driver reclaims everything anyway and calling it could crash.
struct ThreadStreams {
  std::vector<cudaStream_t> by_device;

  ~ThreadStreams() {
    int previous = 0;
    if (cudaGetDevice(&previous) != cudaSuccess) return;
    for (int device = 0; device < static_cast<int>(by_device.size()); ++device) {
      cudaStream_t s = by_device[device];
      if (!s || cudaSetDevice(device) != cudaSuccess) continue;
      cudaStreamSynchronize(s);
      arena_forget_stream(device, s);
      cudaStreamDestroy(s);
    }
    cudaSetDevice(previous);
  }
};

ThreadStreams& thread_streams() {
  thread_local ThreadStreams streams;
  return streams;
}

}  // namespace

cudaStream_t stream_for(int device) {
  check_device(device);
  HL_CUDA_CHECK(cudaSetDevice(device));
  auto& streams = thread_streams().by_device;
  if (streams.size() <= static_cast<size_t>(device)) streams.resize(static_cast<size_t>(device) + 1, nullptr);
  if (!streams[device]) HL_CUDA_CHECK(cudaStreamCreateWithFlags(&streams[device], cudaStreamNonBlocking));
  return streams[device];
}

}  // namespace detail

bool built_with_cuda() { return true; }

void* current_stream(int device) { return detail::stream_for(device); }

void set_device(int device) {
  detail::check_device(device);
  HL_CUDA_CHECK(cudaSetDevice(device));
}

void synchronize(int device) { HL_CUDA_CHECK(cudaStreamSynchronize(detail::stream_for(device))); }

// Pinned memory needs a driver. Without a device it falls back to ordinary aligned host
// memory, as in a build without CUDA, so staging code runs unchanged on CPU-only
// machines. The device count never changes within a process, so pinned_free can tell
// which kind it was given.
namespace {
constexpr size_t kHostAlignment = 64;
}

void* pinned_alloc(size_t nbytes) {
  if (!cuda_available()) {
    const size_t rounded = (nbytes + kHostAlignment - 1) / kHostAlignment * kHostAlignment;
    void* p = std::aligned_alloc(kHostAlignment, rounded == 0 ? kHostAlignment : rounded);
    if (!p) throw Error("out of host memory allocating " + std::to_string(nbytes) + " bytes");
    return p;
  }
  void* p = nullptr;
  // Portable: page-locked for every device's context, not only the current one.
  const cudaError_t status = cudaHostAlloc(&p, nbytes == 0 ? 1 : nbytes, cudaHostAllocPortable);
  if (status != cudaSuccess) {
    cudaGetLastError();
    throw Error("cannot allocate " + std::to_string(nbytes) + " bytes of pinned host memory: " +
                cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")");
  }
  return p;
}

void pinned_free(void* ptr) {
  if (!ptr) return;
  if (!cuda_available()) return std::free(ptr);
  // Called from destructors: report, never throw.
  const cudaError_t status = cudaFreeHost(ptr);
  // A buffer held until the process exits (a thread_local staging buffer) is freed after
  // the runtime has begun unloading; the memory goes with the process then.
  if (status == cudaErrorCudartUnloading) {
    cudaGetLastError();
    return;
  }
  if (status != cudaSuccess) {
    cudaGetLastError();
    HL_LOG(Error) << "cudaFreeHost failed: " << cudaGetErrorName(status) << " (" << cudaGetErrorString(status) << ")";
  }
}

// Copies run on the current stream of the CUDA side, so they are ordered after the
// kernels this thread launched there (the ones that produced src or last used dst),
// then wait, so the caller may use both buffers on return.
void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes) {
  if (nbytes == 0) return;
  if (dst_device.is_cpu() && src_device.is_cpu()) {
    std::memcpy(dst, src, nbytes);
    return;
  }
  if (dst_device.is_cuda() && src_device.is_cuda() && dst_device.index != src_device.index) {
    // Across devices: drain dst's stream first (its last users of that memory), then
    // copy on src's stream, which orders the copy after src's producers.
    synchronize(dst_device.index);
    cudaStream_t stream = detail::stream_for(src_device.index);
    HL_CUDA_CHECK(cudaMemcpyPeerAsync(dst, dst_device.index, src, src_device.index, nbytes, stream));
    HL_CUDA_CHECK(cudaStreamSynchronize(stream));
    return;
  }
  const int device = src_device.is_cuda() ? src_device.index : dst_device.index;
  const cudaMemcpyKind kind = src_device.is_cpu()   ? cudaMemcpyHostToDevice
                              : dst_device.is_cpu() ? cudaMemcpyDeviceToHost
                                                    : cudaMemcpyDeviceToDevice;
  cudaStream_t stream = detail::stream_for(device);
  HL_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, kind, stream));
  HL_CUDA_CHECK(cudaStreamSynchronize(stream));
}

}  // namespace cuda_backend
}  // namespace hl
