// PIL-exact bilinear resize and crop + normalise on batches of frames (kernels/cuda/resize.h).
// Three grid-stride kernels, one thread per output element: the horizontal pass over
// the input rows the vertical pass reads, the vertical pass, and the crop + normalise.
// Channel-last layouts make neighbouring threads touch neighbouring bytes.
#include <string>

#include "kernels/common/error.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/resize.h"

namespace hl::cuda {
namespace {

constexpr int32_t kHalf = 1 << (cpu::kResizePrecisionBits - 1);

// kernels/cpu/resize.cpp clip8.
__device__ __forceinline__ uint8_t clip8(int32_t sum) {
  const int32_t v = sum >> cpu::kResizePrecisionBits;
  return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

// tmp [n, rows, out_w, c] from rows [row0, row0 + rows) of x [n, h, w, c].
__global__ void horizontal_kernel(const uint8_t* x, int64_t n, int64_t h, int64_t w, int64_t c, int64_t row0,
                                  int64_t rows, int64_t out_w, const int32_t* first, const int32_t* count,
                                  const int32_t* weight, int64_t ksize, uint8_t* tmp) {
  const int64_t total = n * rows * out_w * c;
  for (int64_t e = grid_first(); e < total; e += grid_stride()) {
    const int64_t ch = e % c, xx = (e / c) % out_w, r = (e / (c * out_w)) % rows, b = e / (c * out_w * rows);
    const uint8_t* px = x + ((b * h + row0 + r) * w + first[xx]) * c + ch;
    const int32_t* k = weight + xx * ksize;
    int32_t sum = kHalf;
    for (int32_t t = 0; t < count[xx]; ++t) sum += px[t * c] * k[t];
    tmp[e] = clip8(sum);
  }
}

// y [n, out_h, out_w, c] from tmp [n, rows, out_w, c], whose row 0 is input row row0.
__global__ void vertical_kernel(const uint8_t* tmp, int64_t n, int64_t rows, int64_t row0, int64_t out_h,
                                int64_t out_w, int64_t c, const int32_t* first, const int32_t* count,
                                const int32_t* weight, int64_t ksize, uint8_t* y) {
  const int64_t row = out_w * c, total = n * out_h * row;
  for (int64_t e = grid_first(); e < total; e += grid_stride()) {
    const int64_t col = e % row, yy = (e / row) % out_h, b = e / (row * out_h);
    const uint8_t* px = tmp + (b * rows + first[yy] - row0) * row + col;
    const int32_t* k = weight + yy * ksize;
    int32_t sum = kHalf;
    for (int32_t t = 0; t < count[yy]; ++t) sum += px[t * row] * k[t];
    y[e] = clip8(sum);
  }
}

__global__ void crop_normalize_kernel(const uint8_t* x, int64_t n, int64_t h, int64_t w, int64_t top, int64_t left,
                                      int64_t crop_h, int64_t crop_w, cpu::Normalization norm, float* y) {
  const int64_t row = crop_w * 3, total = n * crop_h * row;
  for (int64_t e = grid_first(); e < total; e += grid_stride()) {
    const int64_t col = e % row, i = (e / row) % crop_h, b = e / (row * crop_h);
    const int ch = static_cast<int>(col % 3);
    const float unit = __fdiv_rn(static_cast<float>(x[((b * h + top + i) * w + left) * 3 + col]), 255.0f);
    y[e] = __fdiv_rn(__fsub_rn(unit, norm.mean[ch]), norm.std[ch]);
  }
}

}  // namespace

ResizeTable resize_table(int64_t h, int64_t w, int64_t out_h, int64_t out_w) {
  const cpu::BilinearTaps horizontal = cpu::bilinear_taps(w, out_w), vertical = cpu::bilinear_taps(h, out_h);
  ResizeTable t;
  t.h = h, t.w = w, t.out_h = out_h, t.out_w = out_w;
  t.ksize_w = horizontal.ksize, t.ksize_h = vertical.ksize;
  t.row0 = vertical.first.front();
  t.rows = vertical.first.back() + vertical.count.back() - t.row0;
  for (const cpu::BilinearTaps* taps : {&horizontal, &vertical}) {
    t.ints.insert(t.ints.end(), taps->first.begin(), taps->first.end());
    t.ints.insert(t.ints.end(), taps->count.begin(), taps->count.end());
    t.ints.insert(t.ints.end(), taps->weight.begin(), taps->weight.end());
  }
  return t;
}

int64_t resize_scratch_bytes(const ResizeTable& table, int64_t n, int64_t c) { return n * table.rows * table.out_w * c; }

void resize_bilinear_u8(const uint8_t* x, int64_t n, int64_t c, uint8_t* y, const ResizeTable& table,
                        const int32_t* table_ints, uint8_t* scratch, cudaStream_t stream) {
  if (c <= 0) throw Error("bilinear resize: channel count must be positive, got " + std::to_string(c));
  if (n <= 0) return;
  // Both passes always run: a pass whose size does not change has taps (1, 0) and
  // copies, so the result equals the CPU's, which skips it.
  const int32_t* h_first = table_ints;
  const int32_t* h_count = h_first + table.out_w;
  const int32_t* h_weight = h_count + table.out_w;
  const int32_t* v_first = h_weight + table.out_w * table.ksize_w;
  const int32_t* v_count = v_first + table.out_h;
  const int32_t* v_weight = v_count + table.out_h;
  const int64_t tmp_total = n * table.rows * table.out_w * c;
  horizontal_kernel<<<grid_blocks(tmp_total), kBlockThreads, 0, stream>>>(
      x, n, table.h, table.w, c, table.row0, table.rows, table.out_w, h_first, h_count, h_weight, table.ksize_w,
      scratch);
  HL_CUDA_LAUNCH_CHECK();
  const int64_t out_total = n * table.out_h * table.out_w * c;
  vertical_kernel<<<grid_blocks(out_total), kBlockThreads, 0, stream>>>(
      scratch, n, table.rows, table.row0, table.out_h, table.out_w, c, v_first, v_count, v_weight, table.ksize_h, y);
  HL_CUDA_LAUNCH_CHECK();
}

void crop_normalize_u8_f32(const uint8_t* x, int64_t n, int64_t h, int64_t w, int64_t top, int64_t left,
                           int64_t crop_h, int64_t crop_w, const cpu::Normalization& norm, float* y,
                           cudaStream_t stream) {
  if (top < 0 || left < 0 || crop_h <= 0 || crop_w <= 0 || top + crop_h > h || left + crop_w > w)
    throw Error("crop: window " + std::to_string(crop_h) + "x" + std::to_string(crop_w) + " at (" +
                std::to_string(top) + ", " + std::to_string(left) + ") is outside the " + std::to_string(h) + "x" +
                std::to_string(w) + " image");
  const int64_t total = n * crop_h * crop_w * 3;
  if (total <= 0) return;
  crop_normalize_kernel<<<grid_blocks(total), kBlockThreads, 0, stream>>>(x, n, h, w, top, left, crop_h, crop_w, norm,
                                                                          y);
  HL_CUDA_LAUNCH_CHECK();
}

}  // namespace hl::cuda
