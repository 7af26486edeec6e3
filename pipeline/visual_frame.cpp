// VisualFeatureExtractor's one-frame path for streams (pipeline/visual_features.h):
// the frame is preprocessed into a batch-1 input made once per network and reused, and
// the network runs on the calling thread (its activations come from the network's
// ActivationPool, planned on the first frame and replayed after). GoogLeNet on the CPU
// allocates nothing per frame; what still does (places365, CUDA) is listed in
// docs/embedding.md ("Allocation").
#include <cstring>

#include "engine/error.h"
#include "nets/googlenet.h"
#include "nets/mtcnn.h"
#include "nets/preprocess.h"
#include "nets/resnet50.h"
#include "pipeline/visual_features.h"

namespace hl {

namespace {

// The network's embedding of the one frame in `input` (f32 [1, 224, 224, 3]) into row.
// GoogLeNet writes it straight into the row (no allocation); ResNet50 goes through its
// forward(), which allocates the downloaded outputs.
void embed_one(GoogLeNet& net, const Tensor& input, Feature f, const std::map<Feature, float*>& rows) {
  if (feature_spec(f).frame_shape.at(0) != 1024)
    throw Error(std::string(feature_spec(f).name) + ": the network's embedding is not [1, 1024]");
  net.embed(input, rows.at(f));
}

template <class Net>
void embed_one(Net& net, const Tensor& input, Feature f, const std::map<Feature, float*>& rows) {
  const CnnOutput out = net.forward(input);
  const int64_t dim = feature_spec(f).frame_shape.at(0);
  if (out.embedding.numel() != dim) throw Error(std::string(feature_spec(f).name) + ": the network's embedding is not [1, dim]");
  std::memcpy(rows.at(f), out.embedding.data<float>(), static_cast<size_t>(dim) * sizeof(float));
}

}  // namespace

void VisualFeatureExtractor::embed_frame(const Tensor& rgb, const std::map<Feature, float*>& rows) {
  if (!googlenet_ && !places_) return;
  const Shape input_shape{1, kPreprocessCrop, kPreprocessCrop, 3};
  frame_list_.resize(1);
  frame_list_[0] = rgb;  // a handle: the pixels are not copied
  try {
    if (googlenet_) {
      if (!frame_input_googlenet_.defined())
        frame_input_googlenet_ = Tensor::empty(input_shape, DType::F32, options_.device);
      preprocess_batch(frame_list_, Preprocess::GoogLeNet, frame_input_googlenet_);
      embed_one(*googlenet_, frame_input_googlenet_, Feature::GoogLeNet, rows);
    }
    if (places_) {
      if (!frame_input_places_.defined()) frame_input_places_ = Tensor::empty(input_shape, DType::F32, options_.device);
      preprocess_batch(frame_list_, Preprocess::Places365, frame_input_places_);
      embed_one(*places_, frame_input_places_, Feature::Places365, rows);
    }
  } catch (...) {
    frame_list_[0] = Tensor();
    throw;
  }
  frame_list_[0] = Tensor();  // the caller's frame is not kept alive
}

float VisualFeatureExtractor::detect_faces(const Tensor& rgb) {
  if (!mtcnn_) throw Error("faces: the MTCNN weights are not loaded");
  if (rgb.ndim() != 3 || rgb.size(2) != 3 || rgb.dtype() != DType::U8 || !rgb.device().is_cpu())
    throw Error("faces: a frame is not u8 [H, W, 3] on the CPU");
  const auto faces = mtcnn_->detect(rgb.data<uint8_t>(), rgb.size(0), rgb.size(1));
  return most_confident_face_area(faces, rgb.size(0), rgb.size(1));
}

}  // namespace hl
