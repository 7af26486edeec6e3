#include "nets/visual_features.h"

#include <algorithm>
#include <cstring>

#include "engine/error.h"
#include "engine/log.h"
#include "engine/sha256.h"
#include "nets/cnn_backend_cuda.h"
#include "nets/googlenet.h"
#include "nets/preprocess.h"
#include "nets/resnet50.h"
#include "weights/weights_dir.h"

namespace hl {

bool is_visual_feature(Feature f) { return f == Feature::GoogLeNet || f == Feature::Places365; }

const char* visual_weights_file(Feature f) {
  switch (f) {
    case Feature::GoogLeNet:
      return "googlenet.safetensors";
    case Feature::Places365:
      return "places365-resnet50.safetensors";
    default:
      throw Error(std::string("feature '") + feature_spec(f).name + "' has no visual network");
  }
}

const char* visual_weights_hint(Feature f) {
  switch (f) {
    case Feature::GoogLeNet:
      return "hl-convert googlenet googlenet-1378be20.pth (docs/weights.md says where to download it)";
    case Feature::Places365:
      return "hl-convert places365-resnet50 resnet50_places365.pth.tar (docs/weights.md says where to download it)";
    default:
      throw Error(std::string("feature '") + feature_spec(f).name + "' has no visual network");
  }
}

namespace {

std::unique_ptr<CnnBackend> make_backend(const VisualFeatureOptions& options) {
  if (!options.cuda) return make_cpu_cnn_backend();
  CudaCnnOptions cuda;
  cuda.f16 = true;
  return make_cuda_cnn_backend(cuda);
}

// Rows [start, start + n) of dst [T, dim] from src [n, dim].
void append_rows(std::vector<float>& dst, const Tensor& src) {
  const float* p = src.data<float>();
  dst.insert(dst.end(), p, p + src.numel());
}

}  // namespace

VisualFeatureExtractor::VisualFeatureExtractor(const std::vector<Feature>& features,
                                               const VisualFeatureOptions& options)
    : options_(options) {
  if (options_.batch < 1) throw Error("the visual feature batch must be at least 1");
  for (Feature f : features)
    if (is_visual_feature(f)) features_.push_back(f);
  for (Feature f : features_) {
    const std::string path =
        require_weights_file(visual_weights_file(f), visual_weights_hint(f), options_.weights_dir).string();
    weights_sha256_[f] = sha256_file(path);
    if (f == Feature::GoogLeNet) googlenet_ = std::make_unique<GoogLeNet>(GoogLeNet::load(path, make_backend(options_)));
    if (f == Feature::Places365) places_ = std::make_unique<ResNet50>(ResNet50::load(path, make_backend(options_)));
    HL_LOG(Info) << feature_spec(f).name << ": weights " << path << " on " << (options_.cuda ? "cuda f16" : "cpu f32");
  }
}

VisualFeatureExtractor::~VisualFeatureExtractor() = default;

const std::string& VisualFeatureExtractor::weights_sha256(Feature f) const {
  const auto it = weights_sha256_.find(f);
  if (it == weights_sha256_.end()) throw Error(std::string("feature '") + feature_spec(f).name + "' was not loaded");
  return it->second;
}

std::string VisualFeatureExtractor::precision() const { return options_.cuda ? "f16 cuda" : "f32 cpu"; }

std::map<Feature, Tensor> VisualFeatureExtractor::run(const FrameSource& next_frame,
                                                      const std::function<void(int64_t)>& progress) {
  std::map<Feature, std::vector<float>> rows;
  std::vector<Tensor> batch;
  int64_t frames = 0;
  auto flush = [&] {
    if (batch.empty()) return;
    const int64_t n = static_cast<int64_t>(batch.size());
    // On CUDA the frames are resized and normalised on the device (the same bits).
    const Device device = options_.cuda ? Device::cuda(0) : Device::cpu();
    if (googlenet_) {
      Tensor x = Tensor::empty({n, kPreprocessCrop, kPreprocessCrop, 3}, DType::F32, device);
      preprocess_batch(batch, Preprocess::GoogLeNet, x);
      append_rows(rows[Feature::GoogLeNet], googlenet_->forward(x).embedding);
    }
    if (places_) {
      Tensor x = Tensor::empty({n, kPreprocessCrop, kPreprocessCrop, 3}, DType::F32, device);
      preprocess_batch(batch, Preprocess::Places365, x);
      append_rows(rows[Feature::Places365], places_->forward(x).embedding);
    }
    frames += n;
    batch.clear();
    if (progress) progress(frames);
  };
  Tensor rgb;
  while (next_frame(&rgb)) {
    batch.push_back(rgb);
    if (static_cast<int64_t>(batch.size()) == options_.batch) flush();
  }
  flush();
  if (frames == 0) throw Error("no video frames to compute visual features from");
  std::map<Feature, Tensor> out;
  for (Feature f : features_) {
    const int64_t dim = feature_spec(f).frame_shape.at(0);
    std::vector<float>& r = rows[f];
    out[f] = Tensor::from_vector({frames, dim}, r);
  }
  return out;
}

}  // namespace hl
