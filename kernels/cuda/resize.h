// CUDA version of kernels/cpu/resize.h on batches of frames: PIL's bilinear resize of
// u8 [N, H, W, C] to u8 [N, out_h, out_w, C], and the fused centre crop + ToTensor +
// Normalize of u8 [N, H, W, 3] to f32 [N, crop_h, crop_w, 3] (channels last).
// The filter taps are computed on the host by the CPU code (cpu::bilinear_taps) and
// uploaded by the caller as one int32 table (ResizeTable); the sums are the same integer
// sums as on the CPU and the normalisation the same two f32 operations (IEEE division,
// no fast-math), so the outputs are equal to the bit.
// Tests: tests/cuda/test_cuda_resize.cpp against kernels/cpu/resize.cpp.
#pragma once
#include "kernels/cuda/stream.h"

#include <cstdint>
#include <vector>

#include "kernels/cpu/resize.h"

namespace hl::cuda {

// The taps of both axes for resizing h x w to out_h x out_w, packed for one upload:
// ints = [horizontal first, count (out_w each), weights (out_w x ksize_w),
//         vertical first, count (out_h each), weights (out_h x ksize_h)].
struct ResizeTable {
  int64_t h = 0, w = 0, out_h = 0, out_w = 0;
  int64_t ksize_w = 0, ksize_h = 0;
  int64_t row0 = 0, rows = 0;  // input rows the vertical pass reads: [row0, row0 + rows)
  std::vector<int32_t> ints;
};
ResizeTable resize_table(int64_t h, int64_t w, int64_t out_h, int64_t out_w);

// Bytes of device scratch resize_bilinear_u8 needs for n frames of c channels
// (the horizontally resized rows, u8 [n, rows, out_w, c]).
int64_t resize_scratch_bytes(const ResizeTable& table, int64_t n, int64_t c);

// x u8 [n, h, w, c] -> y u8 [n, out_h, out_w, c] (sizes from table). table_ints: a device
// copy of table.ints; scratch: resize_scratch_bytes of device memory.
void resize_bilinear_u8(const uint8_t* x, int64_t n, int64_t c, uint8_t* y, const ResizeTable& table,
                        const int32_t* table_ints, uint8_t* scratch, cudaStream_t stream);

// x u8 [n, h, w, 3] -> y f32 [n, crop_h, crop_w, 3], as cpu::crop_normalize_u8_f32 per frame.
void crop_normalize_u8_f32(const uint8_t* x, int64_t n, int64_t h, int64_t w, int64_t top, int64_t left,
                           int64_t crop_h, int64_t crop_w, const cpu::Normalization& norm, float* y,
                           cudaStream_t stream);

}  // namespace hl::cuda
