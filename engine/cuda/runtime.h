// Internals shared by engine/cuda/backend.cpp and engine/cuda/arena.cpp (not installed
// API; engine/cuda_backend.h is the interface).
#pragma once
#include <cuda_runtime_api.h>

namespace hl::cuda_backend::detail {

// Throws hl::Error unless `device` names a visible CUDA device: "no CUDA device is
// visible (...)" when there is none, or the bad index and the count otherwise.
void check_device(int device);

// The calling thread's stream for `device` (created lazily, non-blocking), after making
// `device` the thread's current device.
cudaStream_t stream_for(int device);

// Called by a thread that is exiting, after it synchronised `stream` and before it
// destroys it: the arena stops associating blocks with that stream, so their memory
// becomes available to every stream of the device.
void arena_forget_stream(int device, cudaStream_t stream);

// Makes `device` current for its lifetime and restores the previous device after.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = -1;
};

}  // namespace hl::cuda_backend::detail
