// A CUDA stream of one's own, for code above the engine that queues its work apart from
// the engine's per-thread stream (the CUDA CNN backend, nets/cnn_backend_cuda.cpp), so
// that nothing outside engine/cuda and kernels/cuda calls the CUDA runtime itself.
// In a build without CUDA (HL_CUDA=OFF) the constructor throws hl::Error saying so; in a
// CUDA build without a GPU it throws saying that no device is visible.
// Tests: tests/cuda/test_cuda_cnn.cpp (through the CNN backend), tests/cuda/test_cuda_unavailable.cpp.
#pragma once
#include <cstddef>

#include "kernels/cuda/stream.h"

namespace hl {

class CudaStream {
 public:
  explicit CudaStream(int device);  // a non-blocking stream on `device`
  ~CudaStream();                    // waits for the stream's work, then destroys it
  CudaStream(const CudaStream&) = delete;
  CudaStream& operator=(const CudaStream&) = delete;

  cudaStream_t get() const { return stream_; }
  int device() const { return device_; }

  // Waits for everything queued so far; hl::Error naming the CUDA error on failure.
  void synchronize() const;
  // The same from a destructor or deleter: a failure is left for the next checked call.
  void synchronize_noexcept() const noexcept;
  // Work queued on this stream from now on starts after everything already queued on
  // the engine's current stream of this device (where the caching arena last used the
  // memory it hands out).
  void wait_for_engine_stream();
  // nbytes between host memory and this device, or within the device, queued on this
  // stream (host memory must stay valid until it has run: synchronize()).
  void copy_async(void* dst, const void* src, size_t nbytes);

 private:
  int device_;
  cudaStream_t stream_ = nullptr;
  void* order_ = nullptr;  // the cudaEvent_t of wait_for_engine_stream
};

}  // namespace hl
