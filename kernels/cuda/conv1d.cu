// conv1d 'same' (kernels/cuda/conv1d.h): im2col, then the dense layer's kernels
// (cuBLAS). The backward col2im is written as a gather — one thread per element of dx
// summing the column entries that came from it — so no atomics are needed; it adds them
// in the CPU's order (t ascending, i.e. tap j descending), so given the same dcols it
// gives the same dx bit for bit.
#include <cstdint>

#include "kernels/cuda/check.h"
#include "kernels/cuda/conv1d.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/linear.h"

namespace hl::cuda {
namespace {

// cols[(b, t), (j, c)] = x[b, t + j - pad, c], zero outside [0, time). One thread per
// element of cols [batch * time, k * c_in]; pad = s.pad_left() (a host function).
__global__ void im2col_kernel(Conv1dShape s, int64_t pad, const float* x, float* cols) {
  const int64_t width = s.k * s.c_in, total = s.batch * s.time * width;
  for (int64_t e = grid_first(); e < total; e += grid_stride()) {
    const int64_t c = e % s.c_in, j = (e / s.c_in) % s.k, bt = e / width;
    const int64_t t = bt % s.time, b = bt / s.time;
    const int64_t src = t + j - pad;
    cols[e] = (src >= 0 && src < s.time) ? x[(b * s.time + src) * s.c_in + c] : 0.0f;
  }
}

// dx[b, u, c] = sum over taps j with t = u - j + pad in [0, time) of dcols[(b, t), (j, c)].
__global__ void col2im_kernel(Conv1dShape s, int64_t pad, const float* dcols, float* dx) {
  const int64_t width = s.k * s.c_in, total = s.batch * s.time * s.c_in;
  for (int64_t e = grid_first(); e < total; e += grid_stride()) {
    const int64_t c = e % s.c_in, u = (e / s.c_in) % s.time, b = e / (s.c_in * s.time);
    float acc = 0.0f;
    for (int64_t j = s.k - 1; j >= 0; --j) {
      const int64_t t = u - j + pad;
      if (t < 0 || t >= s.time) continue;
      acc = __fadd_rn(acc, dcols[(b * s.time + t) * width + j * s.c_in + c]);
    }
    dx[e] = acc;
  }
}

void im2col(const Conv1dShape& s, const float* x, float* cols, cudaStream_t stream) {
  const int64_t total = conv1d_cols_size(s);
  if (total <= 0) return;
  im2col_kernel<<<grid_blocks(total), kBlockThreads, 0, stream>>>(s, s.pad_left(), x, cols);
  HL_CUDA_LAUNCH_CHECK();
}

}  // namespace

void conv1d_same_forward(const Conv1dShape& s, const float* x, const float* w, const float* b, float* y,
                         float* cols, cudaStream_t stream) {
  im2col(s, x, cols, stream);
  linear_forward(cols, w, b, y, s.batch * s.time, s.k * s.c_in, s.c_out, stream);
}

void conv1d_same_backward(const Conv1dShape& s, const float* x, const float* w, const float* dy, float* dx,
                          float* dw, float* db, float* cols, float* dcols, cudaStream_t stream) {
  const int64_t rows = s.batch * s.time, width = s.k * s.c_in;
  if (dw) im2col(s, x, cols, stream);
  linear_backward(cols, w, dy, dx ? dcols : nullptr, dw, db, rows, width, s.c_out, stream);
  if (dx) {
    const int64_t total = s.batch * s.time * s.c_in;
    if (total <= 0) return;
    col2im_kernel<<<grid_blocks(total), kBlockThreads, 0, stream>>>(s, s.pad_left(), dcols, dx);
    HL_CUDA_LAUNCH_CHECK();
  }
}

}  // namespace hl::cuda
