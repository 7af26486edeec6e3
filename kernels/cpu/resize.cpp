// PIL-exact bilinear resize, centre crop and normalisation (kernels/cpu/resize.h).
#include "kernels/cpu/resize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "kernels/common/error.h"

namespace hl::cpu {
namespace {

// Resample.c bilinear_filter: the triangle 1 - |x| on (-1, 1).
double triangle(double x) {
  if (x < 0.0) x = -x;
  return x < 1.0 ? 1.0 - x : 0.0;
}

// Resample.c clip8 for sums of non-negative weights: drop the fraction bits, saturate.
uint8_t clip8(int32_t sum) { return static_cast<uint8_t>(std::clamp(sum >> kResizePrecisionBits, 0, 255)); }

constexpr int32_t kHalf = 1 << (kResizePrecisionBits - 1);  // rounds the fixed-point sum to nearest

// One pass along rows: out [rows, out_w, c] from in rows [row0, row0 + rows) of [*, w, c].
void horizontal_pass(const uint8_t* in, int64_t w, int64_t c, int64_t row0, int64_t rows, const BilinearTaps& taps,
                     int64_t out_w, uint8_t* out) {
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* src = in + (row0 + r) * w * c;
    uint8_t* dst = out + r * out_w * c;
    for (int64_t xx = 0; xx < out_w; ++xx) {
      const int32_t* k = &taps.weight[xx * taps.ksize];
      const uint8_t* px = src + int64_t{taps.first[xx]} * c;
      for (int64_t ch = 0; ch < c; ++ch) {
        int32_t sum = kHalf;
        for (int32_t t = 0; t < taps.count[xx]; ++t) sum += px[t * c + ch] * k[t];
        dst[xx * c + ch] = clip8(sum);
      }
    }
  }
}

// One pass along columns: out [out_h, w, c] from in [*, w, c], whose row 0 is input row row0.
void vertical_pass(const uint8_t* in, int64_t w, int64_t c, int64_t row0, const BilinearTaps& taps, int64_t out_h,
                   uint8_t* out) {
  const int64_t row = w * c;
  for (int64_t yy = 0; yy < out_h; ++yy) {
    const int32_t* k = &taps.weight[yy * taps.ksize];
    const uint8_t* src = in + (taps.first[yy] - row0) * row;
    uint8_t* dst = out + yy * row;
    for (int64_t e = 0; e < row; ++e) {
      int32_t sum = kHalf;
      for (int32_t t = 0; t < taps.count[yy]; ++t) sum += src[t * row + e] * k[t];
      dst[e] = clip8(sum);
    }
  }
}

}  // namespace

BilinearTaps bilinear_taps(int64_t in_size, int64_t out_size) {
  constexpr int64_t kMaxSize = int64_t{1} << 24;  // PIL's box is float: exact only below 2^24
  if (in_size <= 0 || out_size <= 0 || in_size >= kMaxSize || out_size >= kMaxSize)
    throw Error("bilinear resize: sizes must be in 1.." + std::to_string(kMaxSize - 1) + ", got " +
                std::to_string(in_size) + " -> " + std::to_string(out_size));
  // Resample.c precompute_coeffs with in0 = 0, in1 = in_size; every step in double, in
  // PIL's order, so the weights (and hence the rounded fixed-point values) are PIL's.
  const double scale = static_cast<double>(static_cast<float>(in_size)) / static_cast<double>(out_size);
  const double filterscale = std::max(scale, 1.0);  // antialias: widen the filter when shrinking
  const double support = 1.0 * filterscale;          // the bilinear filter's support is 1
  BilinearTaps taps;
  taps.ksize = static_cast<int64_t>(std::ceil(support)) * 2 + 1;
  taps.first.resize(static_cast<size_t>(out_size));
  taps.count.resize(static_cast<size_t>(out_size));
  taps.weight.assign(static_cast<size_t>(out_size * taps.ksize), 0);
  std::vector<double> k(static_cast<size_t>(taps.ksize));
  for (int64_t xx = 0; xx < out_size; ++xx) {
    const double center = 0.0 + (static_cast<double>(xx) + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    const int xmin = std::max(static_cast<int>(center - support + 0.5), 0);
    const int xmax = std::min(static_cast<int>(center + support + 0.5), static_cast<int>(in_size)) - xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      k[x] = triangle((static_cast<double>(x + xmin) - center + 0.5) * ss);
      ww += k[x];
    }
    for (int x = 0; x < xmax; ++x) {
      if (ww != 0.0) k[x] /= ww;
      // normalize_coeffs_8bpc; the triangle is never negative, so this is its k >= 0 branch.
      taps.weight[xx * taps.ksize + x] = static_cast<int32_t>(0.5 + k[x] * (1 << kResizePrecisionBits));
    }
    taps.first[xx] = xmin;
    taps.count[xx] = xmax;
  }
  return taps;
}

void resize_bilinear_u8(const uint8_t* x, int64_t h, int64_t w, int64_t c, uint8_t* y, int64_t out_h, int64_t out_w) {
  ResizeScratch scratch;
  resize_bilinear_u8(x, h, w, c, y, out_h, out_w, scratch);
}

void resize_bilinear_u8(const uint8_t* x, int64_t h, int64_t w, int64_t c, uint8_t* y, int64_t out_h, int64_t out_w,
                        ResizeScratch& scratch) {
  if (h <= 0 || w <= 0 || c <= 0 || out_h <= 0 || out_w <= 0)
    throw Error("bilinear resize: sizes must be positive, got " + std::to_string(h) + "x" + std::to_string(w) + "x" +
                std::to_string(c) + " -> " + std::to_string(out_h) + "x" + std::to_string(out_w));
  // Resample.c ImagingResampleInner: a pass runs only when its size changes.
  const bool need_horizontal = out_w != w, need_vertical = out_h != h;
  if (!need_horizontal && !need_vertical) {
    std::memcpy(y, x, static_cast<size_t>(h * w * c));
    return;
  }
  if (scratch.in_h != h || scratch.in_w != w || scratch.out_h != out_h || scratch.out_w != out_w) {
    scratch.in_h = -1;  // unusable until both tables are made (bilinear_taps may throw)
    scratch.vertical = need_vertical ? bilinear_taps(h, out_h) : BilinearTaps{};
    scratch.horizontal = need_horizontal ? bilinear_taps(w, out_w) : BilinearTaps{};
    scratch.in_h = h, scratch.in_w = w, scratch.out_h = out_h, scratch.out_w = out_w;
  }
  const BilinearTaps& vertical = scratch.vertical;
  const BilinearTaps& horizontal = scratch.horizontal;
  if (!need_horizontal) {
    vertical_pass(x, w, c, 0, vertical, out_h, y);
    return;
  }
  if (!need_vertical) {
    horizontal_pass(x, w, c, 0, h, horizontal, out_w, y);
    return;
  }
  // Only the input rows the vertical pass reads go through the horizontal pass.
  const int64_t row0 = vertical.first.front();
  const int64_t row_end = vertical.first.back() + vertical.count.back();
  std::vector<uint8_t>& tmp = scratch.rows;  // [rows, out_w, c]
  const auto tmp_size = static_cast<size_t>((row_end - row0) * out_w * c);
  if (tmp.size() < tmp_size) tmp.resize(tmp_size);
  horizontal_pass(x, w, c, row0, row_end - row0, horizontal, out_w, tmp.data());
  vertical_pass(tmp.data(), out_w, c, row0, vertical, out_h, y);
}

int64_t center_crop_offset(int64_t size, int64_t crop) {
  if (crop <= 0 || crop > size)
    throw Error("centre crop: cannot crop " + std::to_string(crop) + " out of " + std::to_string(size));
  // Python's round((size - crop) / 2.0): an odd slack gives q + .5, which rounds to the
  // even one of q and q + 1.
  const int64_t slack = size - crop, q = slack / 2;
  return (slack % 2 == 1 && q % 2 == 1) ? q + 1 : q;
}

void crop_normalize_u8_f32(const uint8_t* x, int64_t h, int64_t w, int64_t top, int64_t left, int64_t crop_h,
                           int64_t crop_w, const Normalization& norm, float* y) {
  if (top < 0 || left < 0 || crop_h <= 0 || crop_w <= 0 || top + crop_h > h || left + crop_w > w)
    throw Error("crop: window " + std::to_string(crop_h) + "x" + std::to_string(crop_w) + " at (" +
                std::to_string(top) + ", " + std::to_string(left) + ") is outside the " + std::to_string(h) + "x" +
                std::to_string(w) + " image");
  for (int64_t i = 0; i < crop_h; ++i) {
    const uint8_t* src = x + ((top + i) * w + left) * 3;
    float* dst = y + i * crop_w * 3;
    for (int64_t e = 0; e < crop_w * 3; ++e) {
      const int ch = static_cast<int>(e % 3);
      // ToTensor: img.float().div(255); Normalize: sub_(mean).div_(std), each rounded to f32.
      const float unit = static_cast<float>(src[e]) / 255.0f;
      dst[e] = (unit - norm.mean[ch]) / norm.std[ch];
    }
  }
}

}  // namespace hl::cpu
