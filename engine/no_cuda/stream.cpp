// CudaStream (engine/cuda_stream.h) in a build without CUDA: none can be made.
#include "engine/cuda_backend.h"
#include "engine/cuda_stream.h"

namespace hl {

CudaStream::CudaStream(int device) : device_(device) {
  cuda_backend::set_device(device);  // throws: this build has no CUDA backend
}

CudaStream::~CudaStream() = default;

void CudaStream::synchronize() const {}
void CudaStream::synchronize_noexcept() const noexcept {}
void CudaStream::wait_for_engine_stream() {}
void CudaStream::copy_async(void*, const void*, size_t) {}

}  // namespace hl
