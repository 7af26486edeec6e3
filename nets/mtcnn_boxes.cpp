#include "nets/mtcnn_boxes.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace hl::mtcnn {

namespace {

// PyTorch 1.13 AdaptiveAvgPoolKernel.cpp start_index / end_index (float arithmetic).
int64_t start_index(int64_t a, int64_t b, int64_t c) {
  return static_cast<int64_t>(std::floor(static_cast<float>(a * c) / static_cast<float>(b)));
}
int64_t end_index(int64_t a, int64_t b, int64_t c) {
  return static_cast<int64_t>(std::ceil(static_cast<float>((a + 1) * c) / static_cast<float>(b)));
}

}  // namespace

void area_resize_normalise(const uint8_t* img, int64_t img_w, int64_t top, int64_t left, int64_t h, int64_t w,
                           int64_t out_h, int64_t out_w, float* y) {
  // The column windows are the same for every output row.
  std::vector<int64_t> iw0(static_cast<size_t>(out_w)), iw1(static_cast<size_t>(out_w));
  for (int64_t ow = 0; ow < out_w; ++ow) {
    iw0[ow] = start_index(ow, out_w, w);
    iw1[ow] = end_index(ow, out_w, w);
  }
  for (int64_t oh = 0; oh < out_h; ++oh) {
    const int64_t ih0 = start_index(oh, out_h, h), ih1 = end_index(oh, out_h, h);
    const float kh = static_cast<float>(ih1 - ih0);
    for (int64_t ow = 0; ow < out_w; ++ow) {
      // PyTorch adds the pixels in f32, row by row. In a window of at most
      // kExactPixels pixels every partial sum is an integer below 2^24, which f32 holds
      // exactly: an integer sum is then the same number, faster. Larger windows (a
      // crop of a huge face) are added in f32 as PyTorch does.
      constexpr int64_t kExactPixels = (int64_t{1} << 24) / 255;
      float sum[3] = {0.0f, 0.0f, 0.0f};
      if ((ih1 - ih0) * (iw1[ow] - iw0[ow]) <= kExactPixels) {
        int32_t isum[3] = {0, 0, 0};
        for (int64_t ih = ih0; ih < ih1; ++ih) {
          const uint8_t* px = img + ((top + ih) * img_w + left + iw0[ow]) * 3;
          for (int64_t iw = iw0[ow]; iw < iw1[ow]; ++iw, px += 3) {
            isum[0] += px[0];
            isum[1] += px[1];
            isum[2] += px[2];
          }
        }
        for (int c = 0; c < 3; ++c) sum[c] = static_cast<float>(isum[c]);
      } else {
        for (int64_t ih = ih0; ih < ih1; ++ih) {
          const uint8_t* px = img + ((top + ih) * img_w + left + iw0[ow]) * 3;
          for (int64_t iw = iw0[ow]; iw < iw1[ow]; ++iw, px += 3)
            for (int c = 0; c < 3; ++c) sum[c] += static_cast<float>(px[c]);
        }
      }
      const float kw = static_cast<float>(iw1[ow] - iw0[ow]);
      float* dst = y + (oh * out_w + ow) * 3;
      for (int c = 0; c < 3; ++c) dst[c] = (sum[c] / kh / kw - 127.5f) * 0.0078125f;
    }
  }
}

void IntegralImage::assign(const uint8_t* rgb, int64_t h, int64_t w) {
  img = rgb;
  img_h = h;
  img_w = w;
  s.assign(static_cast<size_t>((h + 1) * (w + 1) * 3), 0u);  // row 0 and column 0 stay 0
  const int64_t row = (w + 1) * 3;
  for (int64_t y = 0; y < h; ++y) {
    const uint8_t* px = rgb + y * w * 3;
    const uint32_t* above = s.data() + y * row;
    uint32_t* cur = s.data() + (y + 1) * row;
    uint32_t run[3] = {0u, 0u, 0u};  // this row's sum over columns [0, x]
    for (int64_t x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) {
        run[c] += px[x * 3 + c];
        cur[(x + 1) * 3 + c] = above[(x + 1) * 3 + c] + run[c];
      }
  }
}

void area_resize_normalise(const IntegralImage& ii, int64_t top, int64_t left, int64_t h, int64_t w, int64_t out_h,
                           int64_t out_w, float* y) {
  std::vector<int64_t> cols;
  area_resize_normalise(ii, top, left, h, w, out_h, out_w, y, cols);
}

void area_resize_normalise(const IntegralImage& ii, int64_t top, int64_t left, int64_t h, int64_t w, int64_t out_h,
                           int64_t out_w, float* y, std::vector<int64_t>& cols) {
  constexpr int64_t kExactPixels = (int64_t{1} << 24) / 255;
  cols.resize(static_cast<size_t>(2 * out_w));
  int64_t* iw0 = cols.data();  // [out_w] each window's first column
  int64_t* iw1 = iw0 + out_w;  // [out_w] and the one past its last
  for (int64_t ow = 0; ow < out_w; ++ow) {
    iw0[ow] = start_index(ow, out_w, w);
    iw1[ow] = end_index(ow, out_w, w);
  }
  const int64_t row = (ii.img_w + 1) * 3;
  for (int64_t oh = 0; oh < out_h; ++oh) {
    const int64_t ih0 = start_index(oh, out_h, h), ih1 = end_index(oh, out_h, h);
    const float kh = static_cast<float>(ih1 - ih0);
    const uint32_t* r0 = ii.s.data() + (top + ih0) * row;  // rows above the window
    const uint32_t* r1 = ii.s.data() + (top + ih1) * row;  // rows down to its last
    for (int64_t ow = 0; ow < out_w; ++ow) {
      float sum[3] = {0.0f, 0.0f, 0.0f};
      if ((ih1 - ih0) * (iw1[ow] - iw0[ow]) <= kExactPixels) {
        const int64_t a = (left + iw0[ow]) * 3, b = (left + iw1[ow]) * 3;
        for (int c = 0; c < 3; ++c) sum[c] = static_cast<float>(r1[b + c] - r1[a + c] - r0[b + c] + r0[a + c]);
      } else {
        for (int64_t ih = ih0; ih < ih1; ++ih) {
          const uint8_t* px = ii.img + ((top + ih) * ii.img_w + left + iw0[ow]) * 3;
          for (int64_t iw = iw0[ow]; iw < iw1[ow]; ++iw, px += 3)
            for (int c = 0; c < 3; ++c) sum[c] += static_cast<float>(px[c]);
        }
      }
      const float kw = static_cast<float>(iw1[ow] - iw0[ow]);
      float* dst = y + (oh * out_w + ow) * 3;
      for (int c = 0; c < 3; ++c) dst[c] = (sum[c] / kh / kw - 127.5f) * 0.0078125f;
    }
  }
}

namespace {

// std::stable_sort of indices by `before` (a strict weak order): a bottom-up merge sort
// that takes from the right run only when its head comes strictly before the left's, so
// equal elements keep their order and the result is stable_sort's. tmp: scratch.
template <class Before>
void stable_sort_indices(std::vector<int64_t>& v, std::vector<int64_t>& tmp, Before before) {
  const size_t n = v.size();
  tmp.resize(n);
  for (size_t width = 1; width < n; width *= 2) {
    for (size_t lo = 0; lo < n; lo += 2 * width) {
      const size_t mid = std::min(lo + width, n), hi = std::min(lo + 2 * width, n);
      size_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi) tmp[k++] = before(v[j], v[i]) ? v[j++] : v[i++];
      while (i < mid) tmp[k++] = v[i++];
      while (j < hi) tmp[k++] = v[j++];
    }
    v.swap(tmp);
  }
}

}  // namespace

std::vector<int64_t> nms_iou(const std::vector<Box>& boxes, float threshold) {
  NmsScratch scratch;
  std::vector<int64_t> keep;
  nms_iou(boxes, threshold, scratch, keep);
  return keep;
}

std::vector<int64_t> nms_min(const std::vector<Box>& boxes, float threshold) {
  NmsScratch scratch;
  std::vector<int64_t> keep;
  nms_min(boxes, threshold, scratch, keep);
  return keep;
}

void nms_iou(const std::vector<Box>& boxes, float threshold, NmsScratch& scratch, std::vector<int64_t>& keep) {
  const int64_t n = static_cast<int64_t>(boxes.size());
  std::vector<int64_t>& order = scratch.order;
  order.resize(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  stable_sort_indices(order, scratch.tmp, [&](int64_t a, int64_t b) { return boxes[a].score > boxes[b].score; });
  std::vector<float>& area = scratch.area;
  area.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) area[i] = (boxes[i].x2 - boxes[i].x1) * (boxes[i].y2 - boxes[i].y1);
  std::vector<char>& suppressed = scratch.suppressed;
  suppressed.assign(static_cast<size_t>(n), 0);
  keep.clear();
  for (int64_t a = 0; a < n; ++a) {
    const int64_t i = order[a];
    if (suppressed[i]) continue;
    keep.push_back(i);
    const Box& bi = boxes[i];
    for (int64_t b = a + 1; b < n; ++b) {
      const int64_t j = order[b];
      if (suppressed[j]) continue;
      const Box& bj = boxes[j];
      const float w = std::max(0.0f, std::min(bi.x2, bj.x2) - std::max(bi.x1, bj.x1));
      const float h = std::max(0.0f, std::min(bi.y2, bj.y2) - std::max(bi.y1, bj.y1));
      const float inter = w * h;
      const float ovr = inter / (area[i] + area[j] - inter);
      if (ovr > threshold) suppressed[j] = 1;
    }
  }
}

void nms_min(const std::vector<Box>& boxes, float threshold, NmsScratch& scratch, std::vector<int64_t>& keep) {
  const int64_t n = static_cast<int64_t>(boxes.size());
  std::vector<float>& area = scratch.area;
  area.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) area[i] = (boxes[i].x2 - boxes[i].x1 + 1.0f) * (boxes[i].y2 - boxes[i].y1 + 1.0f);
  // np.argsort ascending; the highest score is taken from the end.
  std::vector<int64_t>& rest = scratch.order;
  rest.resize(static_cast<size_t>(n));
  std::iota(rest.begin(), rest.end(), 0);
  stable_sort_indices(rest, scratch.tmp, [&](int64_t a, int64_t b) { return boxes[a].score < boxes[b].score; });
  std::vector<int64_t>& next = scratch.next;
  keep.clear();
  while (!rest.empty()) {
    const int64_t i = rest.back();
    rest.pop_back();
    keep.push_back(i);
    const Box& bi = boxes[i];
    next.clear();
    for (int64_t j : rest) {
      const Box& bj = boxes[j];
      const float w = std::max(0.0f, std::min(bi.x2, bj.x2) - std::max(bi.x1, bj.x1) + 1.0f);
      const float h = std::max(0.0f, std::min(bi.y2, bj.y2) - std::max(bi.y1, bj.y1) + 1.0f);
      const float inter = w * h;
      const float o = inter / std::min(area[i], area[j]);
      if (o <= threshold) next.push_back(j);
    }
    rest.swap(next);
  }
}

void rerec(Box& b) {
  const float h = b.y2 - b.y1, w = b.x2 - b.x1;
  const float l = std::max(w, h);
  b.x1 = b.x1 + w * 0.5f - l * 0.5f;
  b.y1 = b.y1 + h * 0.5f - l * 0.5f;
  b.x2 = b.x1 + l;
  b.y2 = b.y1 + l;
}

void bbreg(Box& b, const float reg[4]) {
  const float w = b.x2 - b.x1 + 1.0f, h = b.y2 - b.y1 + 1.0f;
  const float b1 = b.x1 + reg[0] * w, b2 = b.y1 + reg[1] * h, b3 = b.x2 + reg[2] * w, b4 = b.y2 + reg[3] * h;
  b.x1 = b1;
  b.y1 = b2;
  b.x2 = b3;
  b.y2 = b4;
}

CropWindow pad(const Box& b, int64_t img_w, int64_t img_h) {
  // .trunc().int(): towards zero (clamped first: a far-off box stays far off, no overflow).
  const auto to_int = [](float v) {
    return static_cast<int64_t>(std::trunc(std::clamp(std::isnan(v) ? 0.0f : v, -1e9f, 1e9f)));
  };
  int64_t x = to_int(b.x1), y = to_int(b.y1), ex = to_int(b.x2), ey = to_int(b.y2);
  x = std::max<int64_t>(x, 1);
  y = std::max<int64_t>(y, 1);
  ex = std::min(ex, img_w);
  ey = std::min(ey, img_h);
  return {y - 1, x - 1, ey - (y - 1), ex - (x - 1)};
}

}  // namespace hl::mtcnn
