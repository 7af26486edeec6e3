// Image preprocessing kernels, exact to PIL and torchvision (docs/preprocessing.md).
//
// resize_bilinear_u8: PIL's Image.resize(size, BILINEAR) for 8-bit images (what
// torchvision's Resize does to a PIL image): a separable, antialiased triangle filter
// whose support grows with the downscale factor, weights in fixed point with
// kResizePrecisionBits fraction bits, a horizontal pass into an 8-bit intermediate image
// (only the rows the vertical pass reads), then a vertical pass, each sum rounded and
// clipped to 0..255. Pillow's src/libImaging/Resample.c, line for line in its arithmetic.
// Layout: u8 [H, W, C], channels last, rows packed.
//
// center_crop_offset and crop_normalize_u8_f32: torchvision's CenterCrop (offset
// int(round((size - crop) / 2)), Python's round half to even), ToTensor (x / 255 in f32)
// and Normalize ((x - mean) / std in f32), fused: u8 [H, W, 3] -> f32 [crop_h, crop_w, 3]
// (channels last, the layout the networks take). Each f32 operation is the one PyTorch
// does, in the same order, so the result is the same to the bit.
//
// CUDA twin: kernels/cuda/resize.h.
// Tests: tests/nets/test_preprocess_golden.cpp (byte for byte against PIL, bit for bit
// against torchvision); tests/cuda/test_cuda_resize.cpp (the CUDA twin against these);
// tests/embed/test_stream_allocations.cpp (ResizeScratch: the same bytes, no allocation).
#pragma once
#include <cstdint>
#include <vector>

namespace hl::cpu {

// Fraction bits of the fixed-point weights (Resample.c PRECISION_BITS = 32 - 8 - 2).
constexpr int kResizePrecisionBits = 22;

// The filter taps of one axis: output sample i reads input samples
// [first[i], first[i] + count[i]) with weights weight[i * ksize + t].
struct BilinearTaps {
  int64_t ksize = 0;  // length of a row of the weight table (Resample.c ksize)
  std::vector<int32_t> first;   // [out_size]
  std::vector<int32_t> count;   // [out_size], <= ksize
  std::vector<int32_t> weight;  // [out_size, ksize], fixed point; unused entries 0
};

// Resample.c precompute_coeffs (bilinear filter, box = the whole axis) followed by
// normalize_coeffs_8bpc. Sizes must be positive and below 2^24 (exact as float).
BilinearTaps bilinear_taps(int64_t in_size, int64_t out_size);

// x u8 [h, w, c] -> y u8 [out_h, out_w, c]. Equal sizes copy (as PIL does).
void resize_bilinear_u8(const uint8_t* x, int64_t h, int64_t w, int64_t c, uint8_t* y, int64_t out_h, int64_t out_w);

// What resize_bilinear_u8 can keep between calls: the taps of the last sizes and the
// buffer of the intermediate rows, kept at their largest. Resizing another image of the
// same sizes with it allocates nothing (a stream's frames, nets/preprocess.cpp).
struct ResizeScratch {
  int64_t in_h = -1, in_w = -1, out_h = -1, out_w = -1;  // the sizes the taps are for
  BilinearTaps vertical, horizontal;
  std::vector<uint8_t> rows;  // [rows read by the vertical pass, out_w, c]
};
void resize_bilinear_u8(const uint8_t* x, int64_t h, int64_t w, int64_t c, uint8_t* y, int64_t out_h, int64_t out_w,
                        ResizeScratch& scratch);

// The first row (or column) of a centred crop of `crop` out of `size` (crop <= size),
// torchvision's int(round((size - crop) / 2.0)): .5 rounds to the even neighbour.
int64_t center_crop_offset(int64_t size, int64_t crop);

// Per-channel constants of torchvision's Normalize.
struct Normalization {
  float mean[3];
  float std[3];
};

// x u8 [h, w, 3]; the window [top, top + crop_h) x [left, left + crop_w) must lie inside.
// y f32 [crop_h, crop_w, 3] = ((float)x / 255 - mean[c]) / std[c].
void crop_normalize_u8_f32(const uint8_t* x, int64_t h, int64_t w, int64_t top, int64_t left, int64_t crop_h,
                           int64_t crop_w, const Normalization& norm, float* y);

}  // namespace hl::cpu
