#include "nets/fer_crop.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "engine/error.h"

namespace hl {

std::vector<uint8_t> opencv_rgb_to_grey(const uint8_t* rgb, int64_t h, int64_t w) {
  std::vector<uint8_t> grey(static_cast<size_t>(h * w));
  for (int64_t i = 0; i < h * w; ++i) grey[i] = opencv_grey(rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]);
  return grey;
}

namespace {

constexpr int kCoefBits = 11;  // OpenCV's INTER_RESIZE_COEF_BITS
constexpr int kCoefScale = 1 << kCoefBits;

// saturate_cast<short>(float): cvRound, round half to even.
int16_t round_coef(float v) { return static_cast<int16_t>(std::clamp(std::lrintf(v), -32768L, 32767L)); }

// One axis of OpenCV's INTER_LINEAR tables: for each output index the first source index
// and the two 11-bit weights. fx = (float)((d + 0.5) * scale - 0.5), sx = floor(fx); along
// x (clamp_ends) a source index outside [0, n - 1] is moved inside with weight (1, 0),
// along y the weights stay and the rows are clamped when read.
void linear_table(int64_t in, int64_t out, bool clamp_ends, std::vector<int64_t>& first, std::vector<int16_t>& w0,
                  std::vector<int16_t>& w1) {
  const double inv_scale = static_cast<double>(out) / static_cast<double>(in);
  const double scale = 1.0 / inv_scale;
  first.resize(static_cast<size_t>(out));
  w0.resize(static_cast<size_t>(out));
  w1.resize(static_cast<size_t>(out));
  for (int64_t d = 0; d < out; ++d) {
    float f = static_cast<float>((static_cast<double>(d) + 0.5) * scale - 0.5);
    int64_t s = static_cast<int64_t>(std::floor(f));
    f -= static_cast<float>(s);
    if (clamp_ends) {
      if (s < 0) f = 0, s = 0;
      if (s >= in - 1) f = 0, s = in - 1;
    }
    first[d] = s;
    w0[d] = round_coef((1.0f - f) * kCoefScale);
    w1[d] = round_coef(f * kCoefScale);
  }
}

}  // namespace

std::vector<uint8_t> opencv_resize_linear(const uint8_t* src, int64_t h, int64_t w, int64_t src_stride, int64_t out_h,
                                          int64_t out_w) {
  if (h < 1 || w < 1 || out_h < 1 || out_w < 1)
    throw Error("resize: empty size " + std::to_string(h) + "x" + std::to_string(w) + " -> " + std::to_string(out_h) +
                "x" + std::to_string(out_w));
  std::vector<uint8_t> dst(static_cast<size_t>(out_h * out_w));
  FerCropScratch scratch;
  opencv_resize_linear_into(src, h, w, src_stride, out_h, out_w, dst.data(), scratch);
  return dst;
}

void opencv_resize_linear_into(const uint8_t* src, int64_t h, int64_t w, int64_t src_stride, int64_t out_h,
                               int64_t out_w, uint8_t* dst, FerCropScratch& scratch) {
  if (h < 1 || w < 1 || out_h < 1 || out_w < 1)
    throw Error("resize: empty size " + std::to_string(h) + "x" + std::to_string(w) + " -> " + std::to_string(out_h) +
                "x" + std::to_string(out_w));
  if (h == out_h && w == out_w) {  // cv::resize copies
    for (int64_t y = 0; y < h; ++y) std::memcpy(dst + y * w, src + y * src_stride, static_cast<size_t>(w));
    return;
  }
  // cv::hal::resize switches to INTER_AREA's fast path for exactly 2x smaller in both
  // directions, (a + b + c + d + 2) >> 2; the fixed-point linear below gives the same
  // there (weights 1024 / 1024, no bits lost), so it needs no branch of its own.
  FerCropScratch& t = scratch;
  linear_table(w, out_w, /*clamp_ends=*/true, t.first_x, t.w0_x, t.w1_x);
  linear_table(h, out_h, /*clamp_ends=*/false, t.first_y, t.w0_y, t.w1_y);
  // The horizontal pass of each source row, in int (up to 255 * 2048), cached by row.
  t.rows.resize(static_cast<size_t>(h * out_w));
  t.done.assign(static_cast<size_t>(h), 0);
  auto horizontal = [&](int64_t sy) -> const int32_t* {
    int32_t* d = t.rows.data() + sy * out_w;
    if (!t.done[sy]) {
      const uint8_t* s = src + sy * src_stride;
      for (int64_t x = 0; x < out_w; ++x) {
        const int64_t sx = t.first_x[x];
        d[x] = sx + 1 < w ? s[sx] * t.w0_x[x] + s[sx + 1] * t.w1_x[x] : s[sx] * kCoefScale;
      }
      t.done[sy] = 1;
    }
    return d;
  };
  for (int64_t y = 0; y < out_h; ++y) {
    const int64_t sy = t.first_y[y];
    const int32_t* r0 = horizontal(std::clamp<int64_t>(sy, 0, h - 1));
    const int32_t* r1 = horizontal(std::clamp<int64_t>(sy + 1, 0, h - 1));
    const int32_t b0 = t.w0_y[y], b1 = t.w1_y[y];
    for (int64_t x = 0; x < out_w; ++x) {
      // VResizeLinear<uchar, int, short>: each product's high 16 bits, then >> 2 rounded;
      // the SIMD path saturates to u8.
      const int32_t v = (((b0 * (r0[x] >> 4)) >> 16) + ((b1 * (r1[x] >> 4)) >> 16) + 2) >> 2;
      dst[y * out_w + x] = static_cast<uint8_t>(std::clamp(v, 0, 255));
    }
  }
}

FerCropRect fer_crop_rect(float box_x1, float box_y1, float box_x2, float box_y2, int64_t h, int64_t w) {
  // FER.find_faces (mtcnn): int() of each corner truncates toward zero.
  auto to_int = [](float v) {
    if (!std::isfinite(v) || std::abs(v) > 1e9f) throw Error("fer crop: a face box corner is not a sane number");
    return static_cast<int64_t>(std::trunc(v));
  };
  int64_t x = to_int(box_x1), y = to_int(box_y1);
  int64_t bw = to_int(box_x2) - x, bh = to_int(box_y2) - y;
  // FER.tosquare: the shorter side grows to the longer, centred with floor division.
  auto floor_half = [](int64_t v) { return v >= 0 ? v / 2 : -((-v + 1) / 2); };
  if (bh > bw) {
    x -= floor_half(bh - bw);
    bw = bh;
  } else if (bw > bh) {
    y -= floor_half(bw - bh);
    bh = bw;
  }
  // FER.__apply_offsets, then the padding; starts clipped to 0 (np.clip).
  int64_t x1 = x - kFerOffset + kFerPadding, x2 = x + bw + kFerOffset + kFerPadding;
  int64_t y1 = y - kFerOffset + kFerPadding, y2 = y + bh + kFerOffset + kFerPadding;
  x1 = std::max<int64_t>(x1, 0);
  y1 = std::max<int64_t>(y1, 0);
  // numpy slicing of the padded image: a negative stop counts from the end; then both
  // ends are clipped to the size.
  auto slice = [](int64_t start, int64_t stop, int64_t n, int64_t* a, int64_t* b) {
    if (stop < 0) stop += n;
    *a = std::min(start, n);
    *b = std::clamp<int64_t>(stop, 0, n);
  };
  FerCropRect r;
  slice(y1, y2, h + 2 * kFerPadding, &r.y0, &r.y1);
  slice(x1, x2, w + 2 * kFerPadding, &r.x0, &r.x1);
  return r;
}

std::vector<uint8_t> fer_face_crop(const uint8_t* rgb, int64_t h, int64_t w, float box_x1, float box_y1, float box_x2,
                                   float box_y2) {
  std::vector<uint8_t> out(static_cast<size_t>(kFerCropSize * kFerCropSize));
  FerCropScratch scratch;
  if (!fer_face_crop_into(rgb, h, w, box_x1, box_y1, box_x2, box_y2, out.data(), scratch)) return {};
  return out;
}

bool fer_face_crop_into(const uint8_t* rgb, int64_t h, int64_t w, float box_x1, float box_y1, float box_x2,
                        float box_y2, uint8_t* out, FerCropScratch& scratch) {
  if (h < 1 || w < 1) throw Error("fer crop: the image is too small (" + std::to_string(h) + "x" + std::to_string(w) + ")");
  const FerCropRect r = fer_crop_rect(box_x1, box_y1, box_x2, box_y2, h, w);
  if (r.empty()) return false;
  // FER.pad: the border value is cv2.mean of the last two grey rows, rounded to u8 by
  // saturate_cast (round half to even); image[row - 2 : row] is the one row when h is 1.
  const int64_t first_row = std::max<int64_t>(h - 2, 0);
  int64_t sum = 0;
  for (int64_t i = first_row * w; i < h * w; ++i) sum += opencv_grey(rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]);
  const double mean = static_cast<double>(sum) * (1.0 / static_cast<double>((h - first_row) * w));  // cv::mean's s * (1. / nz)
  const auto border = static_cast<uint8_t>(std::clamp(std::nearbyint(mean), 0.0, 255.0));
  // The crop of the padded grey image, u8 [ch, cw].
  const int64_t ch = r.y1 - r.y0, cw = r.x1 - r.x0;
  std::vector<uint8_t>& crop = scratch.crop;
  crop.resize(static_cast<size_t>(ch * cw));
  for (int64_t y = 0; y < ch; ++y) {
    const int64_t iy = r.y0 + y - kFerPadding;
    for (int64_t x = 0; x < cw; ++x) {
      const int64_t ix = r.x0 + x - kFerPadding;
      if (iy < 0 || iy >= h || ix < 0 || ix >= w) {
        crop[y * cw + x] = border;
        continue;
      }
      const uint8_t* p = rgb + 3 * (iy * w + ix);
      crop[y * cw + x] = opencv_grey(p[0], p[1], p[2]);
    }
  }
  opencv_resize_linear_into(crop.data(), ch, cw, cw, kFerCropSize, kFerCropSize, out, scratch);
  return true;
}

}  // namespace hl
