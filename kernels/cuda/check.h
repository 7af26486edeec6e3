// One checking macro family for the CUDA runtime, cuBLAS, cuDNN and cuFFT. A failing
// call throws hl::Error naming the library's status, the call's text, file and line:
//   CUDA error cudaErrorInvalidDevice (invalid device ordinal) in cudaSetDevice(9999) at kernels/x.cu:42
// Errors are exceptions, never aborts: a bad device index or an out-of-memory is
// something a user can cause (DESIGN section 3).
//
// Every kernel launch is followed immediately by HL_CUDA_LAUNCH_CHECK(); (a test,
// tests/lint/test_launch_check.cpp, fails the build's tests if one is missing). It
// catches launch-configuration errors at once; errors inside the kernel surface only at
// the next synchronisation, so debug builds, or any build run with HL_CUDA_SYNC_CHECK=1,
// also synchronise the device there to pin a fault on the launch that caused it.
//
// This header only needs the runtime's header: the status codes of the other libraries
// travel as int to check.cpp, which alone includes cuBLAS, cuDNN and cuFFT.
#pragma once
#include <cuda_runtime_api.h>

namespace hl::cuda::detail {

[[noreturn]] void throw_cuda_error(cudaError_t status, const char* call, const char* file, int line);
[[noreturn]] void throw_cublas_error(int status, const char* call, const char* file, int line);
[[noreturn]] void throw_cudnn_error(int status, const char* call, const char* file, int line);
[[noreturn]] void throw_cufft_error(int status, const char* call, const char* file, int line);
void check_launch(const char* file, int line);

}  // namespace hl::cuda::detail

#define HL_CUDA_CHECK(call)                                                           \
  do {                                                                                \
    const cudaError_t hl_status_ = (call);                                            \
    if (hl_status_ != cudaSuccess)                                                    \
      ::hl::cuda::detail::throw_cuda_error(hl_status_, #call, __FILE__, __LINE__);    \
  } while (0)

// cuBLAS, cuDNN and cuFFT all use 0 for success.
#define HL_CUDA_DETAIL_CHECK_LIBRARY(thrower, call)                                   \
  do {                                                                                \
    const int hl_status_ = static_cast<int>(call);                                    \
    if (hl_status_ != 0) ::hl::cuda::detail::thrower(hl_status_, #call, __FILE__, __LINE__); \
  } while (0)

#define HL_CUBLAS_CHECK(call) HL_CUDA_DETAIL_CHECK_LIBRARY(throw_cublas_error, call)
#define HL_CUDNN_CHECK(call) HL_CUDA_DETAIL_CHECK_LIBRARY(throw_cudnn_error, call)
#define HL_CUFFT_CHECK(call) HL_CUDA_DETAIL_CHECK_LIBRARY(throw_cufft_error, call)

#define HL_CUDA_LAUNCH_CHECK() ::hl::cuda::detail::check_launch(__FILE__, __LINE__)
