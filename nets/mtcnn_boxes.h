// The box arithmetic of facenet-pytorch's detect_face (models/utils/detect_face.py,
// version 2.6.0), each function the publisher's line for line in f32, so that our
// detections equal theirs: the `area` resampling of the image pyramid and of the crops,
// the two non-maximum suppressions (torchvision's batched_nms: IoU, areas without +1;
// detect_face's nms_numpy 'Min': areas with +1), rerec (square-ing), bbreg (box
// regression) and pad (clamping to the image).
//
// Tests: tests/nets/test_mtcnn_golden.cpp (whole detections against facenet-pytorch;
// the area resampling against F.interpolate(mode='area')).
#pragma once
#include <cstdint>
#include <vector>

namespace hl::mtcnn {

// A candidate box: corners, score and the regression it came with.
struct Box {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
  float score = 0;
  float reg[4] = {0, 0, 0, 0};
};

// F.interpolate(x, (out_h, out_w), mode='area') (= adaptive_avg_pool2d, PyTorch 1.13's
// CPU kernel: window [floor(o * in / out), ceil((o + 1) * in / out)) with the bounds
// computed in float, the sum in f32 row by row, then / kh / kw), of the window
// [top, top + h) x [left, left + w) of a u8 RGB image [img_h, img_w, 3], followed by
// (v - 127.5) * 0.0078125. y f32 [out_h, out_w, 3].
void area_resize_normalise(const uint8_t* img, int64_t img_w, int64_t top, int64_t left, int64_t h, int64_t w,
                           int64_t out_h, int64_t out_w, float* y);

// The summed-area table of a u8 RGB image, for area_resize_normalise over many windows
// of one frame (every pyramid level, every crop): s[(y, x, c)] = the sum of channel c over
// rows [0, y) and columns [0, x), [img_h + 1, img_w + 1, 3], kept modulo 2^32 (unsigned
// wrap-around): a window's sum from its four corners is then exact whenever the sum
// itself is below 2^32, and it is used only for windows of at most 2^24 / 255 pixels.
struct IntegralImage {
  const uint8_t* img = nullptr;  // [img_h, img_w, 3], borrowed
  int64_t img_h = 0, img_w = 0;
  std::vector<uint32_t> s;
  IntegralImage() = default;
  IntegralImage(const uint8_t* rgb, int64_t h, int64_t w) { assign(rgb, h, w); }
  // The table of another image in the same memory (no allocation when it is not larger).
  void assign(const uint8_t* rgb, int64_t h, int64_t w);
};
// The same numbers as area_resize_normalise(ii.img, ii.img_w, ...) bit for bit: a window
// of at most 2^24 / 255 pixels has an integer sum below 2^24, which f32 holds exactly
// whatever the order of the additions, so four table lookups give PyTorch's sum; larger
// windows are added pixel by pixel in f32 as PyTorch does.
void area_resize_normalise(const IntegralImage& ii, int64_t top, int64_t left, int64_t h, int64_t w, int64_t out_h,
                           int64_t out_w, float* y);
// The same with the column windows in `cols` (scratch, [2 * out_w], grown as needed).
void area_resize_normalise(const IntegralImage& ii, int64_t top, int64_t left, int64_t h, int64_t w, int64_t out_h,
                           int64_t out_w, float* y, std::vector<int64_t>& cols);

// torchvision.ops.nms: indices of the kept boxes, by descending score (stable for ties);
// a box is dropped when its IoU with a kept one is > threshold.
std::vector<int64_t> nms_iou(const std::vector<Box>& boxes, float threshold);
// detect_face's nms_numpy(..., 'Min'): overlap = intersection / the smaller area, areas
// and intersections with +1; kept by descending score; dropped when overlap > threshold.
std::vector<int64_t> nms_min(const std::vector<Box>& boxes, float threshold);

// The two NMS writing the kept indices into `keep`, their buffers in `scratch`: no
// allocation once the buffers have grown to the number of boxes. The orders are
// std::stable_sort's (a merge sort of our own, since stable_sort takes its buffer from
// operator new on every call).
struct NmsScratch {
  std::vector<int64_t> order, tmp, next;
  std::vector<float> area;
  std::vector<char> suppressed;
};
void nms_iou(const std::vector<Box>& boxes, float threshold, NmsScratch& scratch, std::vector<int64_t>& keep);
void nms_min(const std::vector<Box>& boxes, float threshold, NmsScratch& scratch, std::vector<int64_t>& keep);

// rerec: the square of side max(w, h) around the box's centre (w = x2 - x1).
void rerec(Box& b);
// bbreg: corners moved by reg times the size with +1 (w = x2 - x1 + 1).
void bbreg(Box& b, const float reg[4]);

// pad: corners truncated towards zero, then x, y >= 1 and ex <= img_w, ey <= img_h. The
// crop is rows [y - 1, ey), columns [x - 1, ex); empty when ey <= y - 1 or ex <= x - 1
// (facenet-pytorch skips such boxes and then fails; we drop them).
struct CropWindow {
  int64_t top = 0, left = 0, h = 0, w = 0;
  bool empty() const { return h <= 0 || w <= 0; }
};
CropWindow pad(const Box& b, int64_t img_w, int64_t img_h);

}  // namespace hl::mtcnn
