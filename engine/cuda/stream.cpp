// CudaStream (engine/cuda_stream.h) on the CUDA runtime.
#include <cuda_runtime_api.h>

#include "engine/cuda_backend.h"
#include "engine/cuda_stream.h"
#include "kernels/cuda/check.h"

namespace hl {

CudaStream::CudaStream(int device) : device_(device) {
  cuda_backend::set_device(device);  // throws clearly without a usable device
  HL_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  cudaEvent_t event = nullptr;
  const cudaError_t made = cudaEventCreateWithFlags(&event, cudaEventDisableTiming);
  if (made != cudaSuccess) {
    cudaStreamDestroy(stream_);
    HL_CUDA_CHECK(made);
  }
  order_ = event;
}

CudaStream::~CudaStream() {
  cudaStreamSynchronize(stream_);
  cudaEventDestroy(static_cast<cudaEvent_t>(order_));
  cudaStreamDestroy(stream_);
}

void CudaStream::synchronize() const { HL_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

void CudaStream::synchronize_noexcept() const noexcept { cudaStreamSynchronize(stream_); }

void CudaStream::wait_for_engine_stream() {
  const auto event = static_cast<cudaEvent_t>(order_);
  HL_CUDA_CHECK(cudaEventRecord(event, static_cast<cudaStream_t>(cuda_backend::current_stream(device_))));
  HL_CUDA_CHECK(cudaStreamWaitEvent(stream_, event, 0));
}

void CudaStream::copy_async(void* dst, const void* src, size_t nbytes) {
  // Unified addressing tells host from device memory, so one kind serves every direction.
  HL_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDefault, stream_));
}

}  // namespace hl
