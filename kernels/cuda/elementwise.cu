// Elementwise f32 ops over n contiguous elements (kernels/cuda/elementwise.h); y may
// alias an input. Memory bound: each thread moves float4s (16-byte loads and stores)
// when every pointer is 16-byte aligned, and single floats otherwise and for the tail.
// Transcendentals use CUDA's full-precision expf/tanhf (a few ulp from glibc's).
// Tests: tests/cuda/test_cuda_kernels.cpp against kernels/cpu/elementwise.cpp (add, mul,
// scale and relu bit-exact; sigmoid and tanh within the f32 tolerance).
#include <cstdint>

#include "kernels/cuda/check.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/launch.cuh"

namespace hl::cuda {
namespace {

struct Add {
  __device__ float operator()(float a, float b) const { return a + b; }
};
struct Mul {
  __device__ float operator()(float a, float b) const { return a * b; }
};
struct Scale {
  float alpha;
  __device__ float operator()(float x) const { return alpha * x; }
};
// NaN propagates, as in PyTorch, and -0 becomes +0: the same expression as the CPU
// kernel, so results are bit-identical.
struct Relu {
  __device__ float operator()(float x) const { return (x > 0.0f || x != x) ? x : 0.0f; }
};
// The CPU kernel's two branches: exp never overflows, and for large negative x the
// result keeps its tiny (subnormal) value instead of collapsing to 1 / inf = 0.
struct Sigmoid {
  __device__ float operator()(float x) const {
    if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
    const float e = expf(x);
    return e / (1.0f + e);
  }
};
struct Tanh {
  __device__ float operator()(float x) const { return tanhf(x); }
};

__device__ __forceinline__ float4 apply(float4 a, float4 b, const auto& op) {
  return make_float4(op(a.x, b.x), op(a.y, b.y), op(a.z, b.z), op(a.w, b.w));
}
__device__ __forceinline__ float4 apply(float4 a, const auto& op) {
  return make_float4(op(a.x), op(a.y), op(a.z), op(a.w));
}

// y[i] = op(x[i]); Vec4: the pointers are 16-byte aligned.
template <bool Vec4, class Op>
__global__ void unary_kernel(const float* x, float* y, int64_t n, Op op) {
  int64_t scalar_start = 0;
  if constexpr (Vec4) {
    const int64_t n4 = n / 4;
    for (int64_t i = grid_first(); i < n4; i += grid_stride())
      reinterpret_cast<float4*>(y)[i] = apply(reinterpret_cast<const float4*>(x)[i], op);
    scalar_start = n4 * 4;
  }
  for (int64_t i = scalar_start + grid_first(); i < n; i += grid_stride()) y[i] = op(x[i]);
}

// y[i] = op(a[i], b[i]); Vec4: the pointers are 16-byte aligned.
template <bool Vec4, class Op>
__global__ void binary_kernel(const float* a, const float* b, float* y, int64_t n, Op op) {
  int64_t scalar_start = 0;
  if constexpr (Vec4) {
    const int64_t n4 = n / 4;
    for (int64_t i = grid_first(); i < n4; i += grid_stride())
      reinterpret_cast<float4*>(y)[i] =
          apply(reinterpret_cast<const float4*>(a)[i], reinterpret_cast<const float4*>(b)[i], op);
    scalar_start = n4 * 4;
  }
  for (int64_t i = scalar_start + grid_first(); i < n; i += grid_stride()) y[i] = op(a[i], b[i]);
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

template <class Op>
void launch_unary(const float* x, float* y, int64_t n, Op op, cudaStream_t stream) {
  if (n <= 0) return;
  if (aligned16(x) && aligned16(y)) {
    unary_kernel<true><<<grid_blocks(n / 4 + 1), kBlockThreads, 0, stream>>>(x, y, n, op);
    HL_CUDA_LAUNCH_CHECK();
  } else {
    unary_kernel<false><<<grid_blocks(n), kBlockThreads, 0, stream>>>(x, y, n, op);
    HL_CUDA_LAUNCH_CHECK();
  }
}

template <class Op>
void launch_binary(const float* a, const float* b, float* y, int64_t n, Op op, cudaStream_t stream) {
  if (n <= 0) return;
  if (aligned16(a) && aligned16(b) && aligned16(y)) {
    binary_kernel<true><<<grid_blocks(n / 4 + 1), kBlockThreads, 0, stream>>>(a, b, y, n, op);
    HL_CUDA_LAUNCH_CHECK();
  } else {
    binary_kernel<false><<<grid_blocks(n), kBlockThreads, 0, stream>>>(a, b, y, n, op);
    HL_CUDA_LAUNCH_CHECK();
  }
}

}  // namespace

void add_f32(const float* a, const float* b, float* y, int64_t n, cudaStream_t stream) {
  launch_binary(a, b, y, n, Add{}, stream);
}
void mul_f32(const float* a, const float* b, float* y, int64_t n, cudaStream_t stream) {
  launch_binary(a, b, y, n, Mul{}, stream);
}
void scale_f32(const float* x, float alpha, float* y, int64_t n, cudaStream_t stream) {
  launch_unary(x, y, n, Scale{alpha}, stream);
}
void relu_f32(const float* x, float* y, int64_t n, cudaStream_t stream) { launch_unary(x, y, n, Relu{}, stream); }
void sigmoid_f32(const float* x, float* y, int64_t n, cudaStream_t stream) {
  launch_unary(x, y, n, Sigmoid{}, stream);
}
void tanh_f32(const float* x, float* y, int64_t n, cudaStream_t stream) { launch_unary(x, y, n, Tanh{}, stream); }

}  // namespace hl::cuda
