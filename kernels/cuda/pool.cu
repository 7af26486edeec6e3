// Max pooling, window 2 stride 2 over time (kernels/cuda/pool.h). The forward pass has
// one thread per output element; the backward pass one thread per input element, which
// writes either the gradient of its pair's output (when it is the pair's chosen
// maximum) or zero, so dx is written exactly once everywhere without a separate clear.
#include <cstdint>

#include "kernels/cuda/check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/pool.h"

namespace hl::cuda {
namespace {

// kernels/cpu/pool.cpp argmax2: 1 (the second) only when strictly larger or NaN, and
// never when the first is NaN.
__device__ __forceinline__ int argmax2(float a, float b) {
  if (a != a) return 0;
  return (b > a || b != b) ? 1 : 0;
}

__global__ void pool_forward_kernel(const float* x, float* y, int64_t batch, int64_t time, int64_t channels) {
  const int64_t out_time = time / 2, total = batch * out_time * channels;
  for (int64_t e = grid_first(); e < total; e += grid_stride()) {
    const int64_t c = e % channels, t = (e / channels) % out_time, b = e / (channels * out_time);
    const float* pair = x + (b * time + 2 * t) * channels + c;
    y[e] = pair[argmax2(pair[0], pair[channels]) * channels];
  }
}

__global__ void pool_backward_kernel(const float* x, const float* dy, float* dx, int64_t batch, int64_t time,
                                     int64_t channels) {
  const int64_t out_time = time / 2, total = batch * time * channels;
  for (int64_t e = grid_first(); e < total; e += grid_stride()) {
    const int64_t c = e % channels, t = (e / channels) % time, b = e / (channels * time);
    const int64_t pt = t / 2;  // the output step this input belongs to
    float v = 0.0f;
    if (pt < out_time) {
      const int64_t first = (b * time + 2 * pt) * channels + c;
      const int which = argmax2(x[first], x[first + channels]);
      if (static_cast<int>(t - 2 * pt) == which) v = dy[(b * out_time + pt) * channels + c];
    }
    dx[e] = v;
  }
}

}  // namespace

void maxpool1d_2_forward(const float* x, float* y, int64_t batch, int64_t time, int64_t channels,
                         cudaStream_t stream) {
  const int64_t total = batch * (time / 2) * channels;
  if (total <= 0) return;
  pool_forward_kernel<<<grid_blocks(total), kBlockThreads, 0, stream>>>(x, y, batch, time, channels);
  HL_CUDA_LAUNCH_CHECK();
}

void maxpool1d_2_backward(const float* x, const float* dy, float* dx, int64_t batch, int64_t time, int64_t channels,
                          cudaStream_t stream) {
  const int64_t total = batch * time * channels;
  if (total <= 0) return;
  pool_backward_kernel<<<grid_blocks(total), kBlockThreads, 0, stream>>>(x, dy, dx, batch, time, channels);
  HL_CUDA_LAUNCH_CHECK();
}

}  // namespace hl::cuda
