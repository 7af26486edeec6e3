// Kernels of kernels/cuda/multisensory_ops.h: one thread per output element in
// grid-stride loops, neighbouring threads on neighbouring channels so that channels-last
// reads and writes coalesce (pointwise_logits: one warp per position). Templates over the
// stored type (float or __half), computing in f32; __fadd_rn / __fmul_rn keep nvcc from
// contracting into fused multiply-adds the CPU does not do.
// Tests: tests/cuda/test_cuda_multisensory_ops.cpp against the CPU functions.
#include <cuda_fp16.h>

#include <cstdint>
#include <string>

#include "kernels/common/error.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/multisensory_ops.h"

namespace hl::cuda {
namespace {

__device__ __forceinline__ float load(const float* p, int64_t i) { return p[i]; }
__device__ __forceinline__ float load(const __half* p, int64_t i) { return __half2float(p[i]); }
__device__ __forceinline__ void store(float* p, int64_t i, float v) { p[i] = v; }
__device__ __forceinline__ void store(__half* p, int64_t i, float v) { p[i] = __float2half_rn(v); }

template <typename T>
__global__ void pad_end_kernel(PadEndShape s, const T* x, T* y) {
  const int64_t D = s.depth + s.extra_d, H = s.height + s.extra_h, W = s.width + s.extra_w, C = s.channels;
  const int64_t total = s.batch * D * H * W * C;
  for (int64_t e = grid_first(); e < total; e += grid_stride()) {
    const int64_t c = e % C, w = (e / C) % W, h = (e / (C * W)) % H, d = (e / (C * W * H)) % D, n = e / (C * W * H * D);
    const bool inside = d < s.depth && h < s.height && w < s.width;
    y[e] = inside ? x[(((n * s.depth + d) * s.height + h) * s.width + w) * C + c] : T(0.0f);
  }
}

// One axis of a TF-padded window: [first, last) clipped to the input.
struct Window {
  int64_t first, last;
};
__device__ __forceinline__ Window window(int64_t o, int64_t stride, int64_t pad_before, int64_t k, int64_t in) {
  const int64_t start = o * stride - pad_before;
  return {max(start, int64_t{0}), min(start + k, in)};
}

struct Pads {
  int64_t od, oh, ow, pd, ph, pw;
};

template <typename T>
__global__ void maxpool3d_kernel(cpu::Pool3dShape s, Pads p, const T* x, T* y) {
  const int64_t C = s.channels, total = s.batch * p.od * p.oh * p.ow * C;
  for (int64_t e = grid_first(); e < total; e += grid_stride()) {
    const int64_t c = e % C, j = (e / C) % p.ow, i = (e / (C * p.ow)) % p.oh, k = (e / (C * p.ow * p.oh)) % p.od,
                  n = e / (C * p.ow * p.oh * p.od);
    const Window wd = window(k, s.sd, p.pd, s.kd, s.depth), wh = window(i, s.sh, p.ph, s.kh, s.height),
                 ww = window(j, s.sw, p.pw, s.kw, s.width);
    float m = -INFINITY;
    for (int64_t d = wd.first; d < wd.last; ++d)
      for (int64_t h = wh.first; h < wh.last; ++h)
        for (int64_t w = ww.first; w < ww.last; ++w) {
          const float v = load(x, (((n * s.depth + d) * s.height + h) * s.width + w) * C + c);
          m = (v > m || isnan(v)) ? v : m;  // NaN wins, as on the CPU
        }
    store(y, e, m);
  }
}

constexpr int kMaxWindows = 256;
struct Boundaries {
  int n_out = 0;
  int32_t b[kMaxWindows + 1] = {};
};

template <typename T>
__global__ void fractional_kernel(int64_t batch, int64_t rows, int64_t row, Boundaries bd, const T* x, T* y) {
  const int64_t total = batch * bd.n_out * row;
  for (int64_t e = grid_first(); e < total; e += grid_stride()) {
    const int64_t k = e % row, i = (e / row) % bd.n_out, b = e / (row * bd.n_out);
    float m = load(x, (b * rows + bd.b[i]) * row + k);
    for (int64_t r = bd.b[i] + 1; r < bd.b[i + 1]; ++r) {
      const float v = load(x, (b * rows + r) * row + k);
      m = (v > m || isnan(v)) ? v : m;
    }
    store(y, e, m);
  }
}

template <typename T>
__global__ void mu_law_kernel(const float* x, T* y, int64_t n) {
  const double inv_log256 = 1.0 / log(256.0);
  for (int64_t e = grid_first(); e < n; e += grid_stride()) {
    const double v = x[e];  // in double, as kernels/cpu/fractional_pool.cpp
    const double m = log1p(255.0 * fabs(v)) * inv_log256;
    store(y, e, static_cast<float>(v > 0 ? m : (v < 0 ? -m : v)));
  }
}

template <typename T>
__global__ void tile_concat_kernel(TileConcatArgs a) {
  const T* im = static_cast<const T*>(a.im);
  const T* sound = static_cast<const T*>(a.sound);
  T* net = static_cast<T*>(a.net);
  T* short_cut = static_cast<T*>(a.short_cut);
  const int64_t C = a.c_im + a.c_sound, total = a.steps * a.positions_per_step * C;
  for (int64_t e = grid_first(); e < total; e += grid_stride()) {
    const int64_t c = e % C, p = e / C, t = p / a.positions_per_step;
    const T v = c < a.c_im ? im[p * a.c_im + c] : sound[t * a.c_sound + (c - a.c_im)];
    net[e] = v;
    if (c < a.half) short_cut[p * 2 * a.half + c] = v;
    if (c >= C - a.half) short_cut[p * 2 * a.half + a.half + (c - (C - a.half))] = v;
  }
}

template <typename T>
__global__ void epilogue_kernel(Conv3dEpilogueArgs a) {
  T* y = static_cast<T*>(a.y);
  const T* residual = static_cast<const T*>(a.residual);
  const int64_t total = a.rows * a.cols;
  for (int64_t e = grid_first(); e < total; e += grid_stride()) {
    const int64_t c = e % a.cols;
    float v = load(y, e);
    if (a.bias) v = __fadd_rn(v, a.bias[c]);
    if (residual) v = __fadd_rn(v, load(residual, e));
    if (a.scale) v = __fadd_rn(__fmul_rn(v, a.scale[c]), a.shift[c]);
    if (a.relu) v = v < 0.0f ? 0.0f : v;  // NaN stays NaN
    store(y, e, v);
  }
}

// One warp per position: lanes stride over the channels, then a shuffle reduction.
template <typename T>
__global__ void logits_kernel(const T* x, const float* w, float bias, float* y, int64_t positions, int64_t channels) {
  const int64_t warps = grid_stride() / 32;
  for (int64_t p = grid_first() / 32; p < positions; p += warps) {
    float sum = 0.0f;
    for (int64_t c = threadIdx.x % 32; c < channels; c += 32)
      sum = __fadd_rn(sum, __fmul_rn(load(x, p * channels + c), w[c]));
    for (int offset = 16; offset > 0; offset /= 2) sum = __fadd_rn(sum, __shfl_down_sync(0xffffffffu, sum, offset));
    if (threadIdx.x % 32 == 0) y[p] = __fadd_rn(sum, bias);
  }
}

template <typename T>
__global__ void mean_kernel(const T* x, float* y, int64_t positions, int64_t channels) {
  for (int64_t c = grid_first(); c < channels; c += grid_stride()) {
    double sum = 0.0;
    for (int64_t p = 0; p < positions; ++p) sum += load(x, p * channels + c);
    y[c] = static_cast<float>(sum / static_cast<double>(positions));
  }
}

bool f32(CnnDType t) { return t == CnnDType::F32; }

}  // namespace

void pad_end_ndhwc(CnnDType t, const PadEndShape& s, const void* x, void* y, cudaStream_t stream) {
  const int64_t total =
      s.batch * (s.depth + s.extra_d) * (s.height + s.extra_h) * (s.width + s.extra_w) * s.channels;
  if (total <= 0) return;
  if (f32(t)) {
    pad_end_kernel<<<grid_blocks(total), kBlockThreads, 0, stream>>>(s, static_cast<const float*>(x),
                                                                     static_cast<float*>(y));
    HL_CUDA_LAUNCH_CHECK();
  } else {
    pad_end_kernel<<<grid_blocks(total), kBlockThreads, 0, stream>>>(s, static_cast<const __half*>(x),
                                                                     static_cast<__half*>(y));
    HL_CUDA_LAUNCH_CHECK();
  }
}

void maxpool3d_ndhwc(CnnDType t, const cpu::Pool3dShape& s, const void* x, void* y, cudaStream_t stream) {
  for (int64_t v : {s.batch, s.depth, s.height, s.width, s.channels, s.kd, s.kh, s.kw, s.sd, s.sh, s.sw})
    if (v <= 0) throw Error("maxpool3d: every size, kernel and stride must be positive");
  const cpu::TfPadding d = s.pad_d(), h = s.pad_h(), w = s.pad_w();
  const Pads p{d.out, h.out, w.out, d.pad_before, h.pad_before, w.pad_before};
  const int64_t total = s.batch * p.od * p.oh * p.ow * s.channels;
  if (f32(t)) {
    maxpool3d_kernel<<<grid_blocks(total), kBlockThreads, 0, stream>>>(s, p, static_cast<const float*>(x),
                                                                       static_cast<float*>(y));
    HL_CUDA_LAUNCH_CHECK();
  } else {
    maxpool3d_kernel<<<grid_blocks(total), kBlockThreads, 0, stream>>>(s, p, static_cast<const __half*>(x),
                                                                       static_cast<__half*>(y));
    HL_CUDA_LAUNCH_CHECK();
  }
}

void fractional_maxpool_rows(CnnDType t, int64_t batch, int64_t rows, int64_t width, int64_t channels,
                             const std::vector<int64_t>& boundaries, const void* x, void* y, cudaStream_t stream) {
  if (batch <= 0 || rows <= 0 || width <= 0 || channels <= 0)
    throw Error("fractional_maxpool: sizes must be positive");
  if (boundaries.size() < 2 || boundaries.front() != 0 || boundaries.back() != rows)
    throw Error("fractional_maxpool: the boundaries must run from 0 to " + std::to_string(rows));
  if (boundaries.size() > kMaxWindows + 1)
    throw Error("fractional_maxpool: at most " + std::to_string(kMaxWindows) + " windows on CUDA");
  Boundaries bd;
  bd.n_out = static_cast<int>(boundaries.size()) - 1;
  for (size_t i = 0; i < boundaries.size(); ++i) {
    if (i > 0 && boundaries[i] <= boundaries[i - 1]) throw Error("fractional_maxpool: the boundaries must increase");
    bd.b[i] = static_cast<int32_t>(boundaries[i]);
  }
  const int64_t row = width * channels, total = batch * bd.n_out * row;
  if (f32(t)) {
    fractional_kernel<<<grid_blocks(total), kBlockThreads, 0, stream>>>(batch, rows, row, bd,
                                                                        static_cast<const float*>(x),
                                                                        static_cast<float*>(y));
    HL_CUDA_LAUNCH_CHECK();
  } else {
    fractional_kernel<<<grid_blocks(total), kBlockThreads, 0, stream>>>(batch, rows, row, bd,
                                                                        static_cast<const __half*>(x),
                                                                        static_cast<__half*>(y));
    HL_CUDA_LAUNCH_CHECK();
  }
}

void mu_law_compand(CnnDType t, const float* x, void* y, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  if (f32(t)) {
    mu_law_kernel<<<grid_blocks(n), kBlockThreads, 0, stream>>>(x, static_cast<float*>(y), n);
    HL_CUDA_LAUNCH_CHECK();
  } else {
    mu_law_kernel<<<grid_blocks(n), kBlockThreads, 0, stream>>>(x, static_cast<__half*>(y), n);
    HL_CUDA_LAUNCH_CHECK();
  }
}

void tile_concat(CnnDType t, const TileConcatArgs& a, cudaStream_t stream) {
  if (a.half > a.c_im || a.half > a.c_sound)
    throw Error("tile_concat: the shortcut's halves (" + std::to_string(a.half) + ") are wider than a part");
  const int64_t total = a.steps * a.positions_per_step * (a.c_im + a.c_sound);
  if (total <= 0) return;
  if (f32(t)) {
    tile_concat_kernel<float><<<grid_blocks(total), kBlockThreads, 0, stream>>>(a);
    HL_CUDA_LAUNCH_CHECK();
  } else {
    tile_concat_kernel<__half><<<grid_blocks(total), kBlockThreads, 0, stream>>>(a);
    HL_CUDA_LAUNCH_CHECK();
  }
}

void conv3d_epilogue(CnnDType t, const Conv3dEpilogueArgs& a, cudaStream_t stream) {
  if ((a.scale == nullptr) != (a.shift == nullptr)) throw Error("conv3d_epilogue: scale and shift go together");
  const int64_t total = a.rows * a.cols;
  if (total <= 0) return;
  if (f32(t)) {
    epilogue_kernel<float><<<grid_blocks(total), kBlockThreads, 0, stream>>>(a);
    HL_CUDA_LAUNCH_CHECK();
  } else {
    epilogue_kernel<__half><<<grid_blocks(total), kBlockThreads, 0, stream>>>(a);
    HL_CUDA_LAUNCH_CHECK();
  }
}

void pointwise_logits(CnnDType t, const void* x, const float* w, float bias, float* y, int64_t positions,
                      int64_t channels, cudaStream_t stream) {
  if (positions <= 0) return;
  const unsigned blocks = grid_blocks(positions * 32);
  if (f32(t)) {
    logits_kernel<<<blocks, kBlockThreads, 0, stream>>>(static_cast<const float*>(x), w, bias, y, positions, channels);
    HL_CUDA_LAUNCH_CHECK();
  } else {
    logits_kernel<<<blocks, kBlockThreads, 0, stream>>>(static_cast<const __half*>(x), w, bias, y, positions,
                                                        channels);
    HL_CUDA_LAUNCH_CHECK();
  }
}

void channel_mean(CnnDType t, const void* x, float* y, int64_t positions, int64_t channels, cudaStream_t stream) {
  if (channels <= 0 || positions <= 0) return;
  if (f32(t)) {
    mean_kernel<<<grid_blocks(channels), kBlockThreads, 0, stream>>>(static_cast<const float*>(x), y, positions,
                                                                     channels);
    HL_CUDA_LAUNCH_CHECK();
  } else {
    mean_kernel<<<grid_blocks(channels), kBlockThreads, 0, stream>>>(static_cast<const __half*>(x), y, positions,
                                                                     channels);
    HL_CUDA_LAUNCH_CHECK();
  }
}

}  // namespace hl::cuda
