#include "kernels/cuda/handles.h"

#include <map>
#include <tuple>
#include <utility>

#include "kernels/cuda/check.h"

namespace hl::cuda {

bool FftPlanShape::operator<(const FftPlanShape& other) const {
  return std::tie(rank, dims, batch, type) < std::tie(other.rank, other.dims, other.batch, other.type);
}

namespace {

// Everything one thread has created, by device.
struct ThreadHandles {
  std::map<int, cublasHandle_t> cublas;
  std::map<int, cudnnHandle_t> cudnn;
  std::map<std::pair<int, FftPlanShape>, cufftHandle> plans;

  ThreadHandles() = default;
  ThreadHandles(const ThreadHandles&) = delete;
  ThreadHandles& operator=(const ThreadHandles&) = delete;

  // Statuses are ignored: nothing useful can be done with a failed destroy during
  // teardown. If the runtime is already unloading (a thread outliving main's exit),
  // cudaGetDevice fails and everything is left to the driver, which frees a dying
  // process's resources anyway; calling into the libraries then could crash.
  ~ThreadHandles() {
    int previous = 0;
    if (cudaGetDevice(&previous) != cudaSuccess) return;
    for (auto& [key, plan] : plans)
      if (cudaSetDevice(key.first) == cudaSuccess) cufftDestroy(plan);
    for (auto& [device, handle] : cudnn)
      if (cudaSetDevice(device) == cudaSuccess) cudnnDestroy(handle);
    for (auto& [device, handle] : cublas)
      if (cudaSetDevice(device) == cudaSuccess) cublasDestroy(handle);
    cudaSetDevice(previous);
  }
};

ThreadHandles& thread_handles() {
  thread_local ThreadHandles handles;
  return handles;
}

int current_device() {
  int device = 0;
  HL_CUDA_CHECK(cudaGetDevice(&device));
  return device;
}

}  // namespace

cublasHandle_t cublas_handle(cudaStream_t stream) {
  auto& handles = thread_handles().cublas;
  const int device = current_device();
  auto it = handles.find(device);
  if (it == handles.end()) {
    cublasHandle_t handle = nullptr;
    HL_CUBLAS_CHECK(cublasCreate(&handle));
    it = handles.emplace(device, handle).first;
  }
  HL_CUBLAS_CHECK(cublasSetStream(it->second, stream));
  return it->second;
}

cudnnHandle_t cudnn_handle(cudaStream_t stream) {
  auto& handles = thread_handles().cudnn;
  const int device = current_device();
  auto it = handles.find(device);
  if (it == handles.end()) {
    cudnnHandle_t handle = nullptr;
    HL_CUDNN_CHECK(cudnnCreate(&handle));
    it = handles.emplace(device, handle).first;
  }
  HL_CUDNN_CHECK(cudnnSetStream(it->second, stream));
  return it->second;
}

cufftHandle cufft_plan(const FftPlanShape& shape, cudaStream_t stream) {
  auto& plans = thread_handles().plans;
  const auto key = std::make_pair(current_device(), shape);
  auto it = plans.find(key);
  if (it == plans.end()) {
    cufftHandle plan = 0;
    HL_CUFFT_CHECK(cufftCreate(&plan));
    // Null embeds select cuFFT's default contiguous layout (strides and distances ignored).
    long long dims[3] = {shape.dims[0], shape.dims[1], shape.dims[2]};
    size_t workspace_bytes = 0;
    try {
      HL_CUFFT_CHECK(cufftMakePlanMany64(plan, shape.rank, dims, nullptr, 1, 0, nullptr, 1, 0, shape.type,
                                         shape.batch, &workspace_bytes));
    } catch (...) {
      cufftDestroy(plan);
      throw;
    }
    it = plans.emplace(key, plan).first;
  }
  HL_CUFFT_CHECK(cufftSetStream(it->second, stream));
  return it->second;
}

}  // namespace hl::cuda
