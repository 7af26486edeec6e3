// VisualFeatureExtractor's face detection buffers (pipeline/visual_faces.cpp), kept
// between frames so that a stream's faces and affect allocate nothing per frame on the
// CPU once they have grown to what the frames need. Internal to hl_pipeline.
#pragma once
#include <cstdint>
#include <vector>

#include "nets/fer_crop.h"
#include "nets/mini_xception.h"
#include "nets/mtcnn.h"
#include "pipeline/visual_features.h"

namespace hl {

struct VisualFeatureExtractor::FaceScratch {
  MtcnnScratch mtcnn;
  std::vector<DetectedFace> faces;     // the frame's detections
  FerCropScratch crop_scratch;
  std::vector<uint8_t> crop;           // [64 * 64] fer's grey crop
  std::vector<float> grey;             // [64 * 64] scaled to [-1, 1]
  MiniXceptionScratch fer;
  std::vector<std::vector<float>> batch;  // the backend's one-crop batch
};

}  // namespace hl
