// The per-frame visual features of the paper that hl computes from published weights:
// googlenet (torchvision GoogLeNet, 1024-d) and places365 (Places365 ResNet50, 2048-d),
// each the global-average-pool embedding of the publisher's preprocessing of a frame
// (nets/preprocess.h), and faces (facenet-pytorch's MTCNN, nets/mtcnn.h: the area of the
// most confident face over the frame's area, 0 without one; always on the CPU in f32,
// on the frame as decoded, every faces_step-th frame with the value held in between).
// Frames come one at a time (u8 RGB of any size, e.g. from engine/media's VideoReader
// or a still image) and go to the networks in batches: on the CPU (f32), or on CUDA
// (preprocessed on the device, networks in f16).
//
// The networks load from the weights folder (weights/weights_dir.h):
// googlenet.safetensors, places365-resnet50.safetensors and mtcnn.safetensors, made by
// hl-convert; a missing file is an hl::Error naming it and the hl-convert command that
// makes it.
// Tests: tests/tools/test_hl_extract_visual.cpp (features of a generated video equal
// torchvision's on the same decoded frames), tests/tools/test_hl_extract_faces.cpp
// (faces of a generated video equal facenet-pytorch's, with and without --faces-step).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor.h"
#include "nets/features.h"

namespace hl {

class GoogLeNet;
class Mtcnn;
class ResNet50;

// True for the features this class computes.
bool is_visual_feature(Feature f);

// The weights file of a visual feature ("googlenet.safetensors") and the command that
// makes it.
const char* visual_weights_file(Feature f);
const char* visual_weights_hint(Feature f);

struct VisualFeatureOptions {
  std::string weights_dir;  // --weights ("" = $HL_WEIGHTS, else the per-user folder)
  Device device = Device::cpu();  // cpu: f32; a CUDA device: f16 tensor cores
  int64_t batch = 16;       // frames per network call
  int64_t faces_step = 1;   // faces: detect on every N-th frame (0, N, 2N, ...), the value held between
};

class VisualFeatureExtractor {
 public:
  // Loads the networks of the visual features in `features` (others are ignored).
  // Throws hl::Error for a missing or unreadable weights file, or CUDA unavailable.
  VisualFeatureExtractor(const std::vector<Feature>& features, const VisualFeatureOptions& options);
  ~VisualFeatureExtractor();
  VisualFeatureExtractor(const VisualFeatureExtractor&) = delete;
  VisualFeatureExtractor& operator=(const VisualFeatureExtractor&) = delete;

  const std::vector<Feature>& features() const { return features_; }
  // SHA-256 of the weights file a feature's network was loaded from.
  const std::string& weights_sha256(Feature f) const;
  // "f32 cpu" or "f16 cuda": part of the extractor name, since the two differ slightly.
  std::string precision() const;
  int64_t faces_step() const { return options_.faces_step; }

  // Pulls frames from next_frame (u8 [H, W, 3] CPU, any size; false at the end) and
  // returns one f32 tensor [T, dim] per feature. next_frame and the preprocessing run on
  // a thread of their own, a batch or two ahead of the networks (on this thread).
  // Frames are preprocessed into their batch slot as they arrive (once 64 MiB of them
  // wait), so a batch never holds `batch` decoded frames: ~100 MB each at 8K.
  // progress(frames) is called after every batch, on this thread. Throws hl::Error when
  // there are no frames, and whatever next_frame throws.
  using FrameSource = std::function<bool(Tensor* rgb)>;
  std::map<Feature, Tensor> run(const FrameSource& next_frame,
                                const std::function<void(int64_t)>& progress = nullptr);

 private:
  std::vector<Feature> features_;
  VisualFeatureOptions options_;
  std::unique_ptr<GoogLeNet> googlenet_;
  std::unique_ptr<ResNet50> places_;
  std::unique_ptr<Mtcnn> mtcnn_;
  std::map<Feature, std::string> weights_sha256_;
};

}  // namespace hl
