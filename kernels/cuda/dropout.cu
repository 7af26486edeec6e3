// Dropout masks (kernels/cuda/dropout.h). Each element computes its own Philox word, as
// the CPU loop does (4x redundant work, but the mask is tiny next to the ops it
// serves). philox_uniform is exact integer-to-float and power-of-two steps, and the
// keep scale 1 / (1 - p) is computed once on the host exactly as the CPU computes it,
// so the masks are bit-identical.
#include <cstdint>

#include "kernels/common/philox.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/dropout.h"
#include "kernels/cuda/launch.cuh"

namespace hl::cuda {
namespace {

__global__ void dropout_mask_kernel(uint64_t seed, uint64_t offset, float p, float keep_scale, float* mask, int64_t n) {
  for (int64_t i = grid_first(); i < n; i += grid_stride()) {
    const float u = philox_uniform(philox_word(seed, offset + static_cast<uint64_t>(i)));  // (0, 1]
    mask[i] = u > p ? keep_scale : 0.0f;
  }
}

}  // namespace

void dropout_mask(uint64_t seed, uint64_t offset, float p, float* mask, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  const float keep_scale = 1.0f / (1.0f - p);  // kernels/cpu/dropout.cpp: T(1) / (T(1) - p)
  dropout_mask_kernel<<<grid_blocks(n), kBlockThreads, 0, stream>>>(seed, offset, p, keep_scale, mask, n);
  HL_CUDA_LAUNCH_CHECK();
}

}  // namespace hl::cuda
