// MTCNN face detection exactly as facenet-pytorch 2.6.0's detect_face does it
// (specs/nets.md "Faces"; its defaults: minimum face 20 px, pyramid factor 0.709,
// thresholds 0.6 / 0.7 / 0.7), on the CPU in f32, with the publisher's weights converted
// by `hl-convert mtcnn` (weights/mtcnn_map.h).
//
//   1. P-Net over the image pyramid: level sizes int(h * scale + 1), scales
//      12/min_face * factor^k while min(h, w) * scale >= 12; each level the `area`
//      resampling of the image, (x - 127.5) / 128; candidates where P(face) >= 0.6, one
//      12x12 cell per output pixel (stride 2); IoU NMS 0.5 per level, then 0.7 over all;
//      box regression (sizes without +1), rerec.
//   2. R-Net on 24x24 `area` crops of the boxes (pad: clamped to the image, not padded):
//      P(face) > 0.7, IoU NMS 0.7, bbreg, rerec.
//   3. O-Net on 48x48 crops: P(face) > 0.7, landmarks, bbreg, 'Min' NMS 0.7.
// The box arithmetic: nets/mtcnn_boxes.h; the stages' host logic: nets/mtcnn_stages.h.
// Faces come by descending probability. Speed: P-Net runs nets/mtcnn_conv.h's direct
// convolution (bias and PReLU fused), and every pyramid level and crop is resampled
// from one summed-area table of the frame (mtcnn::IntegralImage). The same nets on a
// CnnBackend (CUDA): nets/mtcnn_backend.h.
//
// Tests: tests/nets/test_mtcnn_golden.cpp (facenet-pytorch's MTCNN on photographs and
// generated video frames: the same number of boxes after every stage, boxes within 1 px,
// probabilities within 1e-4), tests/nets/test_mtcnn_conv.cpp (the fast paths),
// tests/pipeline/test_visual_faces_backend.cpp (detect_into with a kept MtcnnScratch gives
// detect's faces bit for bit), tests/embed/test_stream_allocations_faces.cpp (no
// allocation per frame once the scratch has grown).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor.h"
#include "nets/mtcnn_conv.h"
#include "weights/cnn_map.h"

namespace hl {

struct DetectedFace {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;  // corners in pixels (may lie outside the image)
  float probability = 0;
  float landmarks[10] = {};  // x of the 5 points, then their y
};

// How many boxes left each stage (for the tests and logs).
struct MtcnnStageCounts {
  int64_t pnet = 0, rnet = 0, onet = 0;
};

// The buffers of one detection (pyramid levels, activations, candidate boxes, crops),
// kept between Mtcnn::detect_into calls: with frames of one size nothing is allocated
// once they have grown to what the frames need (the number of candidates varies from
// frame to frame). One per thread; made with its buffers empty.
class MtcnnScratch {
 public:
  MtcnnScratch();
  ~MtcnnScratch();
  MtcnnScratch(MtcnnScratch&&) noexcept;
  MtcnnScratch& operator=(MtcnnScratch&&) noexcept;
  struct Buffers;  // nets/mtcnn.cpp

 private:
  friend class Mtcnn;
  std::unique_ptr<Buffers> b_;
};

struct MtcnnOptions {
  double min_face = 20.0;
  double factor = 0.709;
  float thresholds[3] = {0.6f, 0.7f, 0.7f};
};

class Mtcnn {
 public:
  // From a file written by hl-convert mtcnn; throws hl::FormatError naming it when it is
  // not one (a missing, unexpected or misshapen tensor).
  static Mtcnn load(const std::string& path, const MtcnnOptions& options = {});
  // From converted tensors (weights/mtcnn_map.h names and layouts); throws hl::Error.
  static Mtcnn from_tensors(const NamedTensors& tensors, const MtcnnOptions& options = {});

  // rgb: u8 [h, w, 3], rows packed. Images smaller than 12 px after the first pyramid
  // scale find nothing.
  std::vector<DetectedFace> detect(const uint8_t* rgb, int64_t h, int64_t w, MtcnnStageCounts* counts = nullptr) const;
  // The same detections (bit for bit: the same code on kept buffers) into `faces`
  // (replaced), with the buffers of `scratch`.
  void detect_into(const uint8_t* rgb, int64_t h, int64_t w, MtcnnScratch& scratch, std::vector<DetectedFace>& faces,
                   MtcnnStageCounts* counts = nullptr) const;

  struct Conv {
    int64_t c_in = 0, c_out = 0, k = 1;
    Tensor weight, bias;  // HWIO [k, k, c_in, c_out], [c_out]
  };
  struct Dense {
    int64_t in = 0, out = 0;
    Tensor weight, bias;  // [in, out], [out]
  };

 private:
  friend class MtcnnOnBackend;  // runs these weights on a CnnBackend (nets/mtcnn_backend.h)
  MtcnnOptions options_;
  // P-Net
  Conv p_conv1_, p_conv2_, p_conv3_, p_conv4_1_, p_conv4_2_;
  Tensor p_prelu_[3];
  // The same P-Net packed for nets/mtcnn_conv.h (bias and PReLU fused; the two heads
  // conv4_1 and conv4_2 as one 1x1 conv of 2 + 4 channels), made in from_tensors.
  mtcnn::PackedConv p_fast_[3], p_heads_;
  // R-Net
  Conv r_conv1_, r_conv2_, r_conv3_;
  Dense r_dense4_, r_dense5_1_, r_dense5_2_;
  Tensor r_prelu_[4];
  // O-Net
  Conv o_conv1_, o_conv2_, o_conv3_, o_conv4_;
  Dense o_dense5_, o_dense6_1_, o_dense6_2_, o_dense6_3_;
  Tensor o_prelu_[5];
};

// The faces feature of one frame: the area of the most confident face (its box clipped
// to the frame) divided by the frame's area; 0 when there is none.
float most_confident_face_area(const std::vector<DetectedFace>& faces, int64_t h, int64_t w);

}  // namespace hl
