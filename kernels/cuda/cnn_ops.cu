// Kernels of kernels/cuda/cnn_ops.h: one thread per output element in grid-stride loops,
// neighbouring threads on neighbouring channels so that NHWC reads and writes coalesce.
// Each kernel is a template over the stored type (float or __half) and computes in f32.
// Additions and products use __fadd_rn / __fmul_rn so that nvcc cannot contract them
// into fused multiply-adds the CPU kernels do not do.
// Tests: tests/cuda/test_cuda_cnn.cpp against the CPU backend.
#include <cuda_fp16.h>

#include <cstdint>

#include "kernels/cuda/check.h"
#include "kernels/cuda/cnn_ops.h"
#include "kernels/cuda/launch.cuh"

namespace hl::cuda {
namespace {

__device__ __forceinline__ float load(const float* p, int64_t i) { return p[i]; }
__device__ __forceinline__ float load(const __half* p, int64_t i) { return __half2float(p[i]); }
__device__ __forceinline__ void store(float* p, int64_t i, float v) { p[i] = v; }
__device__ __forceinline__ void store(__half* p, int64_t i, float v) { p[i] = __float2half_rn(v); }

// kernels/cpu/pool2d.cpp maxpool2d_f32: the window clipped to the input, NaN wins.
template <typename T>
__global__ void maxpool_kernel(cpu::Pool2dShape s, int64_t oh, int64_t ow, const T* x, T* y) {
  const int64_t C = s.channels, total = s.batch * oh * ow * C;
  for (int64_t e = grid_first(); e < total; e += grid_stride()) {
    const int64_t c = e % C, j = (e / C) % ow, i = (e / (C * ow)) % oh, n = e / (C * ow * oh);
    const int64_t y0 = max(i * s.stride_h - s.pad_h, int64_t{0}), y1 = min(i * s.stride_h - s.pad_h + s.kh, s.height);
    const int64_t x0 = max(j * s.stride_w - s.pad_w, int64_t{0}), x1 = min(j * s.stride_w - s.pad_w + s.kw, s.width);
    float m = -INFINITY;
    for (int64_t yy = y0; yy < y1; ++yy)
      for (int64_t xx = x0; xx < x1; ++xx) {
        const float v = load(x, ((n * s.height + yy) * s.width + xx) * C + c);
        m = (v > m || isnan(v)) ? v : m;
      }
    store(y, e, m);
  }
}

template <typename T>
__global__ void avgpool_kernel(const T* x, T* y, int64_t batch, int64_t pixels, int64_t channels, float inv) {
  const int64_t total = batch * channels;
  for (int64_t e = grid_first(); e < total; e += grid_stride()) {
    const int64_t c = e % channels, n = e / channels;
    float sum = 0.0f;
    for (int64_t p = 0; p < pixels; ++p) sum = __fadd_rn(sum, load(x, (n * pixels + p) * channels + c));
    store(y, e, __fmul_rn(sum, inv));
  }
}

template <typename T>
__global__ void affine_kernel(const T* x, T* y, int64_t total, ChannelAffine a) {
  for (int64_t e = grid_first(); e < total; e += grid_stride()) {
    const int c = static_cast<int>(e % a.channels);
    store(y, e, __fadd_rn(__fmul_rn(load(x, e), a.scale[c]), a.shift[c]));
  }
}

template <typename T>
__global__ void epilogue_kernel(ConvEpilogueArgs a) {
  const T* in = static_cast<const T*>(a.in);
  const T* residual = static_cast<const T*>(a.residual);
  T* out = static_cast<T*>(a.out);
  const int64_t total = a.rows * a.cols;
  for (int64_t e = grid_first(); e < total; e += grid_stride()) {
    const int64_t c = e % a.cols, r = e / a.cols;
    float v = load(in, r * a.ld_in + c);
    if (a.bias) v = __fadd_rn(v, a.bias[c]);
    if (residual) v = __fadd_rn(v, load(residual, e));
    if (a.relu) v = v < 0.0f ? 0.0f : v;
    store(out, r * a.ld_out + c, v);
  }
}

template <typename T>
void maxpool(const cpu::Pool2dShape& s, const void* x, void* y, cudaStream_t stream) {
  const int64_t oh = s.out_height(), ow = s.out_width(), total = s.batch * oh * ow * s.channels;
  if (total <= 0) return;
  maxpool_kernel<T><<<grid_blocks(total), kBlockThreads, 0, stream>>>(s, oh, ow, static_cast<const T*>(x),
                                                                      static_cast<T*>(y));
  HL_CUDA_LAUNCH_CHECK();
}

template <typename T>
void avgpool(const void* x, void* y, int64_t batch, int64_t pixels, int64_t channels, cudaStream_t stream) {
  const int64_t total = batch * channels;
  if (total <= 0 || pixels <= 0) return;
  const float inv = 1.0f / static_cast<float>(pixels);
  avgpool_kernel<T><<<grid_blocks(total), kBlockThreads, 0, stream>>>(
      static_cast<const T*>(x), static_cast<T*>(y), batch, pixels, channels, inv);
  HL_CUDA_LAUNCH_CHECK();
}

template <typename T>
void affine(const void* x, void* y, int64_t total, const ChannelAffine& a, cudaStream_t stream) {
  if (total <= 0) return;
  affine_kernel<T><<<grid_blocks(total), kBlockThreads, 0, stream>>>(static_cast<const T*>(x), static_cast<T*>(y),
                                                                     total, a);
  HL_CUDA_LAUNCH_CHECK();
}

template <typename T>
void epilogue(const ConvEpilogueArgs& a, cudaStream_t stream) {
  const int64_t total = a.rows * a.cols;
  if (total <= 0) return;
  epilogue_kernel<T><<<grid_blocks(total), kBlockThreads, 0, stream>>>(a);
  HL_CUDA_LAUNCH_CHECK();
}

}  // namespace

void maxpool2d_nhwc(CnnDType t, const cpu::Pool2dShape& s, const void* x, void* y, cudaStream_t stream) {
  t == CnnDType::F32 ? maxpool<float>(s, x, y, stream) : maxpool<__half>(s, x, y, stream);
}

void global_avgpool_nhwc(CnnDType t, const void* x, void* y, int64_t batch, int64_t pixels, int64_t channels,
                         cudaStream_t stream) {
  t == CnnDType::F32 ? avgpool<float>(x, y, batch, pixels, channels, stream)
                     : avgpool<__half>(x, y, batch, pixels, channels, stream);
}

void channel_affine_nhwc(CnnDType t, const void* x, void* y, int64_t pixels, const ChannelAffine& a,
                         cudaStream_t stream) {
  const int64_t total = pixels * a.channels;
  t == CnnDType::F32 ? affine<float>(x, y, total, a, stream) : affine<__half>(x, y, total, a, stream);
}

void conv_epilogue(CnnDType t, const ConvEpilogueArgs& a, cudaStream_t stream) {
  t == CnnDType::F32 ? epilogue<float>(a, stream) : epilogue<__half>(a, stream);
}

}  // namespace hl::cuda
