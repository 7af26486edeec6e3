// Launch-size helpers shared by the .cu files of kernels/cuda.
#pragma once
#include <cuda_runtime_api.h>

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "kernels/cuda/check.h"

namespace hl::cuda {

// 256 threads: 8 warps, enough to hide latency, small enough for 8 resident blocks per SM.
constexpr int kBlockThreads = 256;

// Blocks for a grid-stride loop over `work` items, `per_block` items per block per pass:
// enough to fill every SM of the current device several times over, and no more, so
// huge inputs loop inside the kernel instead of launching millions of blocks. Never 0
// for work > 0; callers skip the launch when there is no work.
inline unsigned grid_blocks(int64_t work, int64_t per_block = kBlockThreads) {
  // The SM count is asked once per device: cudaDeviceGetAttribute is cheap but not free,
  // and this runs before every launch. Racing first calls store the same value.
  constexpr int kMaxDevices = 64;
  static std::atomic<int> sm_counts[kMaxDevices] = {};
  int device = 0;
  HL_CUDA_CHECK(cudaGetDevice(&device));
  int sms = device < kMaxDevices ? sm_counts[device].load(std::memory_order_relaxed) : 0;
  if (sms == 0) {
    HL_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
    if (device < kMaxDevices) sm_counts[device].store(sms, std::memory_order_relaxed);
  }
  const int64_t wanted = (work + per_block - 1) / per_block;
  return static_cast<unsigned>(std::clamp<int64_t>(wanted, 1, int64_t{sms} * 16));
}

// The first element index of this thread and the stride of a 1-D grid-stride loop.
__device__ __forceinline__ int64_t grid_first() { return int64_t{blockIdx.x} * blockDim.x + threadIdx.x; }
__device__ __forceinline__ int64_t grid_stride() { return int64_t{gridDim.x} * blockDim.x; }

}  // namespace hl::cuda
