// The throwing half of kernels/cuda/check.h: turns a library status into a message.
#include "kernels/cuda/check.h"

#include <cublas_v2.h>
#include <cudnn.h>
#include <cufft.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "kernels/common/error.h"

namespace hl::cuda::detail {
namespace {

// cuFFT has no status-to-string function of its own.
const char* cufft_status_name(int status) {
  switch (status) {
    case CUFFT_INVALID_PLAN: return "CUFFT_INVALID_PLAN";
    case CUFFT_ALLOC_FAILED: return "CUFFT_ALLOC_FAILED";
    case CUFFT_INVALID_TYPE: return "CUFFT_INVALID_TYPE";
    case CUFFT_INVALID_VALUE: return "CUFFT_INVALID_VALUE";
    case CUFFT_INTERNAL_ERROR: return "CUFFT_INTERNAL_ERROR";
    case CUFFT_EXEC_FAILED: return "CUFFT_EXEC_FAILED";
    case CUFFT_SETUP_FAILED: return "CUFFT_SETUP_FAILED";
    case CUFFT_INVALID_SIZE: return "CUFFT_INVALID_SIZE";
    case CUFFT_UNALIGNED_DATA: return "CUFFT_UNALIGNED_DATA";
    case CUFFT_INVALID_DEVICE: return "CUFFT_INVALID_DEVICE";
    case CUFFT_NO_WORKSPACE: return "CUFFT_NO_WORKSPACE";
    case CUFFT_NOT_IMPLEMENTED: return "CUFFT_NOT_IMPLEMENTED";
    case CUFFT_NOT_SUPPORTED: return "CUFFT_NOT_SUPPORTED";
    case CUFFT_MISSING_DEPENDENCY: return "CUFFT_MISSING_DEPENDENCY";
    case CUFFT_NVRTC_FAILURE: return "CUFFT_NVRTC_FAILURE";
    case CUFFT_NVJITLINK_FAILURE: return "CUFFT_NVJITLINK_FAILURE";
    case CUFFT_NVSHMEM_FAILURE: return "CUFFT_NVSHMEM_FAILURE";
    default: return "unknown cuFFT status";
  }
}

[[noreturn]] void throw_error(const char* library, const std::string& status, const char* call, const char* file,
                              int line) {
  throw Error(std::string(library) + " error " + status + " in " + call + " at " + file + ":" + std::to_string(line));
}

// Synchronising after every launch serialises the host with the device, so release
// builds do it only on request.
bool sync_after_launch() {
#ifndef NDEBUG
  return true;
#else
  static const bool on = [] {
    const char* v = std::getenv("HL_CUDA_SYNC_CHECK");
    return v && std::strcmp(v, "1") == 0;
  }();
  return on;
#endif
}

}  // namespace

void throw_cuda_error(cudaError_t status, const char* call, const char* file, int line) {
  throw_error("CUDA", std::string(cudaGetErrorName(status)) + " (" + cudaGetErrorString(status) + ")", call, file, line);
}

void throw_cublas_error(int status, const char* call, const char* file, int line) {
  const auto s = static_cast<cublasStatus_t>(status);
  throw_error("cuBLAS", std::string(cublasGetStatusName(s)) + " (" + cublasGetStatusString(s) + ")", call, file, line);
}

void throw_cudnn_error(int status, const char* call, const char* file, int line) {
  throw_error("cuDNN", cudnnGetErrorString(static_cast<cudnnStatus_t>(status)), call, file, line);
}

void throw_cufft_error(int status, const char* call, const char* file, int line) {
  throw_error("cuFFT", std::string(cufft_status_name(status)) + " (" + std::to_string(status) + ")", call, file, line);
}

void check_launch(const char* file, int line) {
  // cudaGetLastError also clears a non-sticky launch error, so the next check starts clean.
  cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess) throw_cuda_error(status, "kernel launch", file, line);
  if (sync_after_launch()) {
    status = cudaDeviceSynchronize();
    if (status != cudaSuccess) throw_cuda_error(status, "kernel (fault found by synchronising after its launch)", file, line);
  }
}

}  // namespace hl::cuda::detail
