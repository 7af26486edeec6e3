#include "nets/mtcnn_stages.h"

#include <algorithm>
#include <cmath>

namespace hl::mtcnn {

namespace {

// nn.Softmax over two logits: P(class 1).
float softmax2_1(float a, float b) {
  const float m = std::max(a, b);
  const float ea = std::exp(a - m), eb = std::exp(b - m);
  return eb / (ea + eb);
}

// boxes[pick] into `to` (not `boxes`).
void select(const std::vector<Box>& boxes, const std::vector<int64_t>& pick, std::vector<Box>& to) {
  to.clear();
  for (int64_t i : pick) to.push_back(boxes[i]);
}

}  // namespace

void pyramid_scales(int64_t h, int64_t w, const MtcnnOptions& options, std::vector<double>& scales) {
  const double m = 12.0 / options.min_face;
  double minl = static_cast<double>(std::min(h, w)) * m, scale = m;
  scales.clear();
  while (minl >= 12) {
    scales.push_back(scale);
    scale *= options.factor;
    minl *= options.factor;
  }
}

int64_t level_size(int64_t n, double scale) { return static_cast<int64_t>(static_cast<double>(n) * scale + 1); }

void add_level_candidates(Rows logits, Rows reg, int64_t oh, int64_t ow, double scale, float threshold,
                          std::vector<Box>& boxes, StageScratch& scratch) {
  // generateBoundingBox: cell (y, x) in row-major order (mask.nonzero()).
  const float sf = static_cast<float>(scale);
  std::vector<Box>& level = scratch.level;
  level.clear();
  for (int64_t yy = 0; yy < oh; ++yy)
    for (int64_t xx = 0; xx < ow; ++xx) {
      const int64_t i = yy * ow + xx;
      const float p = softmax2_1(logits.row(i)[0], logits.row(i)[1]);
      if (!(p >= threshold)) continue;
      Box b;
      const float bx = static_cast<float>(xx), by = static_cast<float>(yy);
      b.x1 = std::floor((2.0f * bx + 1.0f) / sf);
      b.y1 = std::floor((2.0f * by + 1.0f) / sf);
      b.x2 = std::floor((2.0f * bx + 11.0f + 1.0f) / sf);
      b.y2 = std::floor((2.0f * by + 11.0f + 1.0f) / sf);
      b.score = p;
      for (int k = 0; k < 4; ++k) b.reg[k] = reg.row(i)[k];
      level.push_back(b);
    }
  nms_iou(level, 0.5f, scratch.nms, scratch.keep);
  for (int64_t i : scratch.keep) boxes.push_back(level[i]);
}

void finish_pnet(std::vector<Box>& boxes, StageScratch& scratch) {
  nms_iou(boxes, 0.7f, scratch.nms, scratch.keep);
  select(boxes, scratch.keep, scratch.picked);
  boxes.assign(scratch.picked.begin(), scratch.picked.end());
  for (Box& b : boxes) {
    const float regw = b.x2 - b.x1, regh = b.y2 - b.y1;
    const float q1 = b.x1 + b.reg[0] * regw, q2 = b.y1 + b.reg[1] * regh;
    const float q3 = b.x2 + b.reg[2] * regw, q4 = b.y2 + b.reg[3] * regh;
    b.x1 = q1;
    b.y1 = q2;
    b.x2 = q3;
    b.y2 = q4;
    rerec(b);
  }
}

int64_t crops(const IntegralImage& integral, std::vector<Box>& boxes, int64_t size, float* x, StageScratch& scratch) {
  std::vector<Box>& kept = scratch.passed;
  kept.clear();
  const int64_t one = size * size * 3;
  for (const Box& b : boxes) {
    const CropWindow win = pad(b, integral.img_w, integral.img_h);
    if (win.empty()) continue;
    area_resize_normalise(integral, win.top, win.left, win.h, win.w, size, size,
                          x + static_cast<int64_t>(kept.size()) * one, scratch.cols);
    kept.push_back(b);
  }
  boxes.assign(kept.begin(), kept.end());
  return static_cast<int64_t>(boxes.size());
}

void refine_rnet(Rows logits, Rows reg, std::vector<Box>& boxes, float threshold, StageScratch& scratch) {
  std::vector<Box>& passed = scratch.passed;
  passed.clear();
  for (size_t i = 0; i < boxes.size(); ++i) {
    const float p = softmax2_1(logits.row(static_cast<int64_t>(i))[0], logits.row(static_cast<int64_t>(i))[1]);
    if (!(p > threshold)) continue;
    Box b = boxes[i];
    b.score = p;
    for (int k = 0; k < 4; ++k) b.reg[k] = reg.row(static_cast<int64_t>(i))[k];
    passed.push_back(b);
  }
  nms_iou(passed, 0.7f, scratch.nms, scratch.keep);
  select(passed, scratch.keep, boxes);
  for (Box& b : boxes) {
    const float r[4] = {b.reg[0], b.reg[1], b.reg[2], b.reg[3]};
    bbreg(b, r);
    rerec(b);
  }
}

void finish_onet(Rows logits, Rows reg, Rows points, const std::vector<Box>& boxes, float threshold,
                 StageScratch& scratch, std::vector<DetectedFace>& result) {
  std::vector<Box>& passed = scratch.passed;
  std::vector<DetectedFace>& faces = scratch.faces;
  passed.clear();
  faces.clear();
  for (size_t n = 0; n < boxes.size(); ++n) {
    const int64_t i = static_cast<int64_t>(n);
    const float p = softmax2_1(logits.row(i)[0], logits.row(i)[1]);
    if (!(p > threshold)) continue;
    Box b = boxes[n];
    b.score = p;
    DetectedFace f;
    const float wi = b.x2 - b.x1 + 1.0f, hi = b.y2 - b.y1 + 1.0f;
    for (int k = 0; k < 5; ++k) {
      f.landmarks[k] = wi * points.row(i)[k] + b.x1 - 1.0f;
      f.landmarks[5 + k] = hi * points.row(i)[5 + k] + b.y1 - 1.0f;
    }
    float r[4];
    for (int k = 0; k < 4; ++k) r[k] = reg.row(i)[k];
    bbreg(b, r);
    f.x1 = b.x1;
    f.y1 = b.y1;
    f.x2 = b.x2;
    f.y2 = b.y2;
    f.probability = p;
    passed.push_back(b);
    faces.push_back(f);
  }
  nms_min(passed, 0.7f, scratch.nms, scratch.keep);
  result.clear();
  for (int64_t i : scratch.keep) result.push_back(faces[i]);
}

}  // namespace hl::mtcnn
