// The host side of MTCNN's three stages (facenet-pytorch 2.6.0's detect_face), shared by
// the CPU detector (nets/mtcnn.cpp) and the one that runs the nets on a CnnBackend
// (nets/mtcnn_backend.h): the pyramid's scales, the candidates of a P-Net level, the
// crops for R-Net and O-Net, and what each stage does with its nets' outputs. The box
// arithmetic underneath: nets/mtcnn_boxes.h.
//
// Net outputs are read through (pointer, row stride) pairs so that both layouts work: the
// CPU's separate heads ([n, 2] logits, [n, 4] regression) and the backends' heads as one
// layer ([n, 6] or [n, 16]: logits, regression, landmarks side by side).
// Tests: tests/nets/test_mtcnn_golden.cpp (the whole CPU detector against
// facenet-pytorch), tests/nets/test_mtcnn_backend.cpp (the backend detector against it).
#pragma once
#include <cstdint>
#include <vector>

#include "nets/mtcnn.h"
#include "nets/mtcnn_boxes.h"

namespace hl::mtcnn {

// The buffers of the functions below, kept between frames by the caller: once they have
// grown to what a frame needs, the stages allocate nothing.
struct StageScratch {
  std::vector<Box> level, passed, picked;
  std::vector<int64_t> keep, cols;
  NmsScratch nms;
  std::vector<DetectedFace> faces;
};

// 12 / min_face * factor^k while min(h, w) * scale >= 12, in double as Python has it.
void pyramid_scales(int64_t h, int64_t w, const MtcnnOptions& options, std::vector<double>& scales);
// A level's side: int(n * scale + 1).
int64_t level_size(int64_t n, double scale);

// A strided view of [rows, stride] floats from column `offset` on.
struct Rows {
  const float* data = nullptr;
  int64_t stride = 0;
  const float* row(int64_t i) const { return data + i * stride; }
};

// generateBoundingBox on one level's P-Net output (logits and regression per output
// cell, [oh * ow] rows, row-major), then the level's IoU NMS 0.5; appends to `boxes`.
void add_level_candidates(Rows logits, Rows reg, int64_t oh, int64_t ow, double scale, float threshold,
                          std::vector<Box>& boxes, StageScratch& scratch);
// After the last level: IoU NMS 0.7 over all levels, box regression, rerec.
void finish_pnet(std::vector<Box>& boxes, StageScratch& scratch);

// The crops of `boxes` (pad()), area-resized to size x size and normalised, into x
// [n, size, size, 3] (room for boxes.size() crops); returns n. Boxes whose crop is empty
// are dropped from `boxes`.
int64_t crops(const IntegralImage& integral, std::vector<Box>& boxes, int64_t size, float* x, StageScratch& scratch);

// R-Net's outputs for `boxes` (same order): P(face) > threshold, IoU NMS 0.7, bbreg,
// rerec. Replaces `boxes`.
void refine_rnet(Rows logits, Rows reg, std::vector<Box>& boxes, float threshold, StageScratch& scratch);
// O-Net's outputs: P(face) > threshold, landmarks, bbreg, 'Min' NMS 0.7; the faces by
// descending probability, into `faces` (replaced).
void finish_onet(Rows logits, Rows reg, Rows points, const std::vector<Box>& boxes, float threshold,
                 StageScratch& scratch, std::vector<DetectedFace>& faces);

}  // namespace hl::mtcnn
