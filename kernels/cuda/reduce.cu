// Reductions along one dimension (kernels/cuda/reduce.h): x [outer, n, inner] is
// reduced over n into y [outer, inner].
//
// Three shapes of work, each reading memory coalesced:
//   inner == 1, n <  kBlockRowMin: one warp per row, lanes stride along the row;
//   inner == 1, n >= kBlockRowMin: one block per row, warps combined through shared memory;
//   inner  > 1: a 32x8 block covers 32 neighbouring inner positions (one 128-byte line per
//               row of n) and splits n eight ways, combined through shared memory.
// Sums accumulate in double, like the CPU kernel: these kernels are bound by memory
// bandwidth, so double adds cost nothing measurable and long sums stay within 1e-6.
// max propagates NaN. Tests: tests/cuda/test_cuda_kernels.cpp against kernels/cpu/reduce.cpp.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "kernels/common/error.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/reduce.h"

namespace hl::cuda {
namespace {

constexpr int kWarp = 32;
constexpr int64_t kBlockRowMin = 1024;  // from here a row has work for 256 threads

struct SumReducer {
  using Acc = double;
  __device__ static Acc identity() { return 0.0; }
  __device__ static Acc combine(Acc a, Acc b) { return a + b; }
  __device__ static float finish(Acc a, int64_t) { return static_cast<float>(a); }
};
struct MeanReducer : SumReducer {
  __device__ static float finish(Acc a, int64_t n) { return static_cast<float>(a / static_cast<double>(n)); }
};
struct MaxReducer {
  using Acc = float;
  __device__ static Acc identity() { return -INFINITY; }
  // A NaN on either side wins (a != a only for NaN).
  __device__ static Acc combine(Acc a, Acc b) { return (a != a || a > b) ? a : b; }
  __device__ static float finish(Acc a, int64_t) { return a; }
};

template <class R>
__device__ typename R::Acc warp_combine(typename R::Acc v) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) v = R::combine(v, __shfl_down_sync(0xffffffffu, v, offset));
  return v;
}

// inner == 1: warp w of the grid reduces rows w, w + warps, ... of x [rows, n].
template <class R>
__global__ void rows_warp_kernel(const float* x, float* y, int64_t rows, int64_t n) {
  const int lane = threadIdx.x % kWarp;
  const int64_t warps = grid_stride() / kWarp;
  for (int64_t row = grid_first() / kWarp; row < rows; row += warps) {
    const float* xr = x + row * n;
    typename R::Acc acc = R::identity();
    for (int64_t j = lane; j < n; j += kWarp) acc = R::combine(acc, xr[j]);
    acc = warp_combine<R>(acc);
    if (lane == 0) y[row] = R::finish(acc, n);
  }
}

// inner == 1, long rows: block b reduces rows b, b + blocks, ... of x [rows, n].
template <class R>
__global__ void rows_block_kernel(const float* x, float* y, int64_t rows, int64_t n) {
  __shared__ typename R::Acc partial[kBlockThreads / kWarp];
  const int lane = threadIdx.x % kWarp;
  const int warp = threadIdx.x / kWarp;
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const float* xr = x + row * n;
    typename R::Acc acc = R::identity();
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) acc = R::combine(acc, xr[j]);
    acc = warp_combine<R>(acc);
    if (lane == 0) partial[warp] = acc;
    __syncthreads();
    if (warp == 0) {
      acc = lane < kBlockThreads / kWarp ? partial[lane] : R::identity();
      acc = warp_combine<R>(acc);
      if (lane == 0) y[row] = R::finish(acc, n);
    }
    __syncthreads();  // partial is rewritten for the next row
  }
}

constexpr int kColumnSplit = kBlockThreads / kWarp;  // 8 slices of n per block

// inner > 1: block (bx, by) reduces y[o, bx*32 .. bx*32+31] for o = by, by + gridDim.y, ...
// Thread (tx, ty) sums rows j = ty, ty + 8, ... of column bx*32 + tx.
template <class R>
__global__ void columns_kernel(const float* x, float* y, int64_t outer, int64_t n, int64_t inner) {
  __shared__ typename R::Acc partial[kColumnSplit][kWarp + 1];  // +1: no bank conflicts on the column read
  const int tx = threadIdx.x;
  const int ty = threadIdx.y;
  const int64_t i = int64_t{blockIdx.x} * kWarp + tx;
  for (int64_t o = blockIdx.y; o < outer; o += gridDim.y) {
    typename R::Acc acc = R::identity();
    if (i < inner) {
      const float* xo = x + o * n * inner + i;
      for (int64_t j = ty; j < n; j += kColumnSplit) acc = R::combine(acc, xo[j * inner]);
    }
    partial[ty][tx] = acc;
    __syncthreads();
    if (ty == 0 && i < inner) {
      for (int s = 1; s < kColumnSplit; ++s) acc = R::combine(acc, partial[s][tx]);
      y[o * inner + i] = R::finish(acc, n);
    }
    __syncthreads();  // partial is rewritten for the next o
  }
}

template <class R>
void reduce(const float* x, float* y, int64_t outer, int64_t n, int64_t inner, cudaStream_t stream) {
  if (outer <= 0 || inner <= 0) return;
  if (inner == 1 && n < kBlockRowMin) {
    rows_warp_kernel<R><<<grid_blocks(outer * kWarp), kBlockThreads, 0, stream>>>(x, y, outer, n);
    HL_CUDA_LAUNCH_CHECK();
  } else if (inner == 1) {
    rows_block_kernel<R><<<grid_blocks(outer, 1), kBlockThreads, 0, stream>>>(x, y, outer, n);
    HL_CUDA_LAUNCH_CHECK();
  } else {
    const dim3 block(kWarp, kColumnSplit);
    const dim3 grid(static_cast<unsigned>((inner + kWarp - 1) / kWarp),
                    static_cast<unsigned>(std::min<int64_t>(outer, 65535)));
    columns_kernel<R><<<grid, block, 0, stream>>>(x, y, outer, n, inner);
    HL_CUDA_LAUNCH_CHECK();
  }
}

}  // namespace

void sum_dim_f32(const float* x, float* y, int64_t outer, int64_t n, int64_t inner, cudaStream_t stream) {
  reduce<SumReducer>(x, y, outer, n, inner, stream);
}

void mean_dim_f32(const float* x, float* y, int64_t outer, int64_t n, int64_t inner, cudaStream_t stream) {
  reduce<MeanReducer>(x, y, outer, n, inner, stream);
}

void max_dim_f32(const float* x, float* y, int64_t outer, int64_t n, int64_t inner, cudaStream_t stream) {
  if (n < 1) throw Error("max_dim_f32: cannot take the maximum over an empty dimension (n = 0)");
  reduce<MaxReducer>(x, y, outer, n, inner, stream);
}

}  // namespace hl::cuda
