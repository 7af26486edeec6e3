// Library handles for the CUDA kernels: cuBLAS and cuDNN handles and cuFFT plans.
//
// Creating a handle or a plan costs milliseconds and allocates device memory, so each is
// made once, lazily, and reused. Handles are per device (a handle belongs to the device
// that was current when it was made) and per thread (a cuBLAS/cuDNN handle must not be
// used by two threads at once, and binding it to a stream changes shared state). The
// functions below use the calling thread's current CUDA device. Everything is destroyed
// when the thread exits; at process exit, if the CUDA driver has already shut down,
// handles are left for the driver to reclaim instead of being destroyed.
// No CPU twin (library state). Tests: through their users, tests/cuda/test_cuda_kernels.cpp
// (cuBLAS), tests/cuda/test_cuda_cnn.cpp (cuDNN), tests/cuda/test_cuda_mfcc.cpp (cuFFT plans).
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>
#include <cufft.h>

#include <array>
#include <cstdint>

namespace hl::cuda {

// The calling thread's cuBLAS handle for the current device, bound to `stream`.
cublasHandle_t cublas_handle(cudaStream_t stream);
// The calling thread's cuDNN handle for the current device, bound to `stream`.
cudnnHandle_t cudnn_handle(cudaStream_t stream);

// A batched cuFFT transform over contiguous data in cuFFT's default layout: `batch`
// signals of rank 1 to 3 with sizes dims[0..rank), one signal after another.
struct FftPlanShape {
  int rank = 1;
  std::array<int64_t, 3> dims{0, 0, 0};
  int64_t batch = 1;
  cufftType type = CUFFT_R2C;
  bool operator<(const FftPlanShape& other) const;
};

// The calling thread's plan for `shape` on the current device, bound to `stream`;
// created on first use and kept.
cufftHandle cufft_plan(const FftPlanShape& shape, cudaStream_t stream);

}  // namespace hl::cuda
