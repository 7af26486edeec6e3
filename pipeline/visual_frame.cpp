// VisualFeatureExtractor's one-frame path for streams (pipeline/visual_features.h):
// the frame is preprocessed into a batch-1 input made once per network and reused, and
// the network runs on the calling thread (its activations come from the network's
// ActivationPool, planned on the first frame and replayed after), its embedding written
// straight into the stream's row. GoogLeNet and ResNet50 (places365) on the CPU allocate
// nothing per frame; what still does (CUDA, faces) is listed in docs/embedding.md
// ("Allocation").
#include "engine/error.h"
#include "nets/googlenet.h"
#include "nets/mtcnn.h"
#include "nets/preprocess.h"
#include "nets/resnet50.h"
#include "pipeline/visual_features.h"
#include "weights/googlenet_map.h"
#include "weights/resnet50_map.h"

namespace hl {

namespace {

// The network's embedding of the one frame in `input` (f32 [1, 224, 224, 3]), `dim`
// floats (GoogLeNet 1024, ResNet50 2048), written by Net::embed straight into f's row,
// which holds feature_spec(f)'s frame: no allocation.
template <class Net>
void embed_one(Net& net, int64_t dim, const Tensor& input, Feature f, const std::map<Feature, float*>& rows) {
  if (feature_spec(f).frame_shape.at(0) != dim)
    throw Error(std::string(feature_spec(f).name) + ": the network's embedding is not [1, " + std::to_string(dim) + "]");
  net.embed(input, rows.at(f));
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
      embed_one(*googlenet_, kGoogLeNetEmbedding, frame_input_googlenet_, Feature::GoogLeNet, rows);
    }
    if (places_) {
      if (!frame_input_places_.defined()) frame_input_places_ = Tensor::empty(input_shape, DType::F32, options_.device);
      preprocess_batch(frame_list_, Preprocess::Places365, frame_input_places_);
      embed_one(*places_, kResNet50Embedding, frame_input_places_, Feature::Places365, rows);
    }
  } catch (...) {
    frame_list_[0] = Tensor();
    throw;
  }
  frame_list_[0] = Tensor();  // the caller's frame is not kept alive
}

}  // namespace hl
