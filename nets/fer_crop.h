// fer's face crop for its emotion model (specs/nets.md "Affect"), bit-exact with what fer
// 22.5.1's FER.detect_emotions feeds its mini-Xception (fer/fer.py), given a face box:
//
//   grey = cv2.cvtColor(img, COLOR_BGR2GRAY)          (img is BGR; ours is RGB: the same)
//   grey = cv2.copyMakeBorder(grey, 40 on each side, BORDER_CONSTANT,
//                             value = cv2.mean(the last 2 rows of grey))   (FER.pad)
//   x, y, w, h = int(x1), int(y1), int(x2) - int(x1), int(y2) - int(y1)  (FER.find_faces, mtcnn)
//   x, y, w, h = FER.tosquare(...)                     (longer side kept, // 2 shifts)
//   crop rows y - 10 + 40 : y + h + 10 + 40, columns likewise, starts clipped to 0 (numpy
//   slicing: stops past the end are clipped)
//   cv2.resize(crop, (64, 64))                         (INTER_LINEAR, OpenCV's fixed point)
//
// The two OpenCV operations are reimplemented exactly as OpenCV 4.x computes them for u8:
// cvtColor's 15-bit fixed-point weights (9798 R + 19235 G + 3735 B + 2^14) >> 15, and
// resize's INTER_LINEAR with 11-bit coefficients rounded from float, the horizontal pass
// in int and the vertical pass ((b0 * (S0 >> 4)) >> 16) + ((b1 * (S1 >> 4)) >> 16) + 2) >> 2
// (OpenCV's INTER_AREA shortcut for exactly 2x downscaling gives the same values). The
// border value is cv2.mean's sum * (1. / count), rounded half to even. The scaling to
// [-1, 1] is scale_fer_pixel (nets/mini_xception.h).
//
// Tests: tests/nets/test_fer_crop.cpp (u8 bit-exact against opencv-python-headless on
// random images, many sizes and boxes, via tests/golden/fer_crop_ref.py).
#pragma once
#include <cstdint>
#include <vector>

namespace hl {

inline constexpr int64_t kFerPadding = 40;  // fer.fer.PADDING
inline constexpr int64_t kFerOffset = 10;   // FER(offsets=(10, 10)), the default
inline constexpr int64_t kFerCropSize = 64;  // the model's input, 64 x 64

// OpenCV's COLOR_RGB2GRAY of one u8 pixel.
inline uint8_t opencv_grey(uint8_t r, uint8_t g, uint8_t b) {
  return static_cast<uint8_t>((9798 * r + 19235 * g + 3735 * b + (1 << 14)) >> 15);
}

// cv2.cvtColor(rgb, COLOR_RGB2GRAY): rgb u8 [h, w, 3] -> u8 [h, w].
std::vector<uint8_t> opencv_rgb_to_grey(const uint8_t* rgb, int64_t h, int64_t w);

// cv2.resize(src, (out_w, out_h)) with INTER_LINEAR: src u8 [h, w] (one channel, rows of
// `src_stride` bytes) -> u8 [out_h, out_w]. Throws hl::Error for an empty size.
std::vector<uint8_t> opencv_resize_linear(const uint8_t* src, int64_t h, int64_t w, int64_t src_stride, int64_t out_h,
                                          int64_t out_w);

// The buffers of the _into versions below, kept between calls: once they have grown to
// a crop's size, a crop allocates nothing.
struct FerCropScratch {
  std::vector<uint8_t> crop;        // the padded grey crop before resizing
  std::vector<int32_t> rows;        // the horizontal pass of each source row
  std::vector<char> done;           // which rows have had it
  std::vector<int64_t> first_x, first_y;  // the interpolation tables of both axes
  std::vector<int16_t> w0_x, w1_x, w0_y, w1_y;
};
// opencv_resize_linear into dst [out_h * out_w], the same bytes.
void opencv_resize_linear_into(const uint8_t* src, int64_t h, int64_t w, int64_t src_stride, int64_t out_h,
                               int64_t out_w, uint8_t* dst, FerCropScratch& scratch);

// The crop's rows [y0, y1) and columns [x0, x1) in the padded grey image (kFerPadding
// added on each side), as fer slices it; empty when y1 <= y0 or x1 <= x0.
struct FerCropRect {
  int64_t y0 = 0, y1 = 0, x0 = 0, x1 = 0;
  bool empty() const { return y1 <= y0 || x1 <= x0; }
};
// box: the detector's corners (x1, y1, x2, y2) in pixels; h, w: the image's size.
FerCropRect fer_crop_rect(float box_x1, float box_y1, float box_x2, float box_y2, int64_t h, int64_t w);

// fer's 64x64 grey crop of the face in `rgb` (u8 [h, w, 3]), u8 [64 * 64] row-major;
// empty when the crop is empty (fer skips such a face: cv2.resize fails on it). Only the
// pixels of the crop and the last two rows are converted to grey.
std::vector<uint8_t> fer_face_crop(const uint8_t* rgb, int64_t h, int64_t w, float box_x1, float box_y1, float box_x2,
                                   float box_y2);
// The same crop into out [64 * 64]; false (out untouched) when the crop is empty.
bool fer_face_crop_into(const uint8_t* rgb, int64_t h, int64_t w, float box_x1, float box_y1, float box_x2,
                        float box_y2, uint8_t* out, FerCropScratch& scratch);

}  // namespace hl
