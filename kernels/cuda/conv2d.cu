// conv2d (kernels/cuda/conv2d.h): im2col, then the dense layer's kernels (cuBLAS), the
// GemmShapes of kernels/cpu/conv2d.cpp. The backward col2im is a gather: one thread per
// element of dx sums the column entries read from it, over the windows (i, j) in
// ascending raster order — the order in which the CPU's scatter adds them — so given
// the same dcols it gives the same dx bit for bit.
#include <cstdint>

#include "kernels/cuda/check.h"
#include "kernels/cuda/conv2d.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/linear.h"

namespace hl::cuda {
namespace {

// cols[(n, i, j), (p, q, c)] = x[n, i*stride_h + p - pad_top, j*stride_w + q - pad_left, c],
// zero outside the input. One thread per element of cols [batch*oh*ow, kh*kw*c_in].
__global__ void im2col_kernel(Conv2dShape s, int64_t oh, int64_t ow, const float* x, float* cols) {
  const int64_t width = s.kh * s.kw * s.c_in, total = s.batch * oh * ow * width;
  for (int64_t e = grid_first(); e < total; e += grid_stride()) {
    const int64_t c = e % s.c_in, pq = (e / s.c_in) % (s.kh * s.kw), r = e / width;
    const int64_t q = pq % s.kw, p = pq / s.kw;
    const int64_t j = r % ow, i = (r / ow) % oh, n = r / (ow * oh);
    const int64_t y = i * s.stride_h + p - s.pad_top, xx = j * s.stride_w + q - s.pad_left;
    const bool inside = y >= 0 && y < s.height && xx >= 0 && xx < s.width;
    cols[e] = inside ? x[((n * s.height + y) * s.width + xx) * s.c_in + c] : 0.0f;
  }
}

// Output indices i in [lo, hi] whose window along one axis covers input position u:
// i*stride + p - pad = u with 0 <= p < k and 0 <= i < out. Returns false if none.
__device__ __forceinline__ bool window_range(int64_t u, int64_t pad, int64_t k, int64_t stride, int64_t out,
                                             int64_t& lo, int64_t& hi) {
  const int64_t v = u + pad;  // i*stride + p = v
  // largest i with i*stride <= v, smallest i with i*stride >= v - k + 1
  hi = v / stride;  // v >= 0
  const int64_t first = v - k + 1;
  lo = first <= 0 ? 0 : (first + stride - 1) / stride;
  if (hi > out - 1) hi = out - 1;
  return lo <= hi;
}

// dx[n, y, x, c] = sum over windows (i, j) reading it, in ascending (i, j), of
// dcols[(n, i, j), (p, q, c)] with p = y + pad_top - i*stride_h, q = x + pad_left - j*stride_w.
__global__ void col2im_kernel(Conv2dShape s, int64_t oh, int64_t ow, const float* dcols, float* dx) {
  const int64_t width = s.kh * s.kw * s.c_in, total = s.batch * s.height * s.width * s.c_in;
  for (int64_t e = grid_first(); e < total; e += grid_stride()) {
    const int64_t c = e % s.c_in, xx = (e / s.c_in) % s.width, y = (e / (s.c_in * s.width)) % s.height,
                  n = e / (s.c_in * s.width * s.height);
    float acc = 0.0f;
    int64_t i0, i1, j0, j1;
    if (window_range(y, s.pad_top, s.kh, s.stride_h, oh, i0, i1) &&
        window_range(xx, s.pad_left, s.kw, s.stride_w, ow, j0, j1)) {
      for (int64_t i = i0; i <= i1; ++i) {
        const int64_t p = y + s.pad_top - i * s.stride_h;
        for (int64_t j = j0; j <= j1; ++j) {
          const int64_t q = xx + s.pad_left - j * s.stride_w;
          acc = __fadd_rn(acc, dcols[((n * oh + i) * ow + j) * width + (p * s.kw + q) * s.c_in + c]);
        }
      }
    }
    dx[e] = acc;
  }
}

void im2col(const Conv2dShape& s, const float* x, float* cols, cudaStream_t stream) {
  const int64_t total = s.col_rows() * s.col_width();
  if (total <= 0) return;
  im2col_kernel<<<grid_blocks(total), kBlockThreads, 0, stream>>>(s, s.out_height(), s.out_width(), x, cols);
  HL_CUDA_LAUNCH_CHECK();
}

}  // namespace

void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* b, float* y, float* cols,
                    cudaStream_t stream) {
  if (s.im2col_is_identity()) {
    linear_forward(x, w, b, y, s.col_rows(), s.col_width(), s.c_out, stream);
    return;
  }
  im2col(s, x, cols, stream);
  linear_forward(cols, w, b, y, s.col_rows(), s.col_width(), s.c_out, stream);
}

void conv2d_backward(const Conv2dShape& s, const float* x, const float* w, const float* dy, float* dx, float* dw,
                     float* db, float* cols, float* dcols, cudaStream_t stream) {
  const int64_t rows = s.col_rows(), width = s.col_width();
  if (s.im2col_is_identity()) {
    linear_backward(x, w, dy, dx, dw, db, rows, width, s.c_out, stream);
    return;
  }
  if (dw) im2col(s, x, cols, stream);
  linear_backward(cols, w, dy, dx ? dcols : nullptr, dw, db, rows, width, s.c_out, stream);
  if (dx) {
    const int64_t total = s.batch * s.height * s.width * s.c_in;
    if (total <= 0) return;
    col2im_kernel<<<grid_blocks(total), kBlockThreads, 0, stream>>>(s, s.out_height(), s.out_width(), dcols, dx);
    HL_CUDA_LAUNCH_CHECK();
  }
}

}  // namespace hl::cuda
