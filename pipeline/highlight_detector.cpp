// The embeddable detector (include/hl/highlights.h, docs/embedding.md): score_file is
// hl-highlights' extraction and scoring; a stream computes the same features
// incrementally (pipeline/stream_features.h) and scores each segment with the same
// standardisation and model as soon as it is complete.
#include "hl/highlights.h"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "engine/autograd/variable.h"
#include "engine/device.h"
#include "engine/error.h"
#include "nets/highlight_model.h"
#include "pipeline/extract.h"
#include "pipeline/highlights.h"
#include "pipeline/stream_features.h"
#include "pipeline/visual_features.h"

namespace hl {

struct HighlightDetector::Impl {
  std::string model_path;
  std::unique_ptr<HighlightModel> model;
  ModelRequirements needs;
  ExtractOptions extract;
  std::unique_ptr<VisualFeatureExtractor> visual;  // loaded once, shared by score_file and streams
};

HighlightDetector::HighlightDetector(const std::string& model_path, const DetectorOptions& options)
    : impl_(std::make_unique<Impl>()) {
  Impl& d = *impl_;
  d.model_path = model_path;
  std::map<std::string, std::string> meta;
  d.model = std::make_unique<HighlightModel>(HighlightModel::load(model_path, &meta));
  d.needs = model_requirements(meta, model_path);
  const Device device = parse_device(options.device);
  d.extract.features = d.needs.features;
  d.extract.fps = d.needs.fps;
  d.extract.hl_version = "hl::HighlightDetector";
  d.extract.mfcc_device = device;
  d.extract.visual_options.weights_dir = options.weights_dir;
  d.extract.visual_options.device = device;
  // faces: detect on the frames the model's training features detected on (its step).
  d.extract.visual_options.faces_step = d.needs.faces_step;
  if (std::any_of(d.needs.features.begin(), d.needs.features.end(), is_visual_feature)) {
    d.visual = std::make_unique<VisualFeatureExtractor>(d.needs.features, d.extract.visual_options);
    d.extract.visual = d.visual.get();
    check_visual_extractor_matches(d.needs, *d.visual, model_path);
  }
}

HighlightDetector::~HighlightDetector() = default;
HighlightDetector::HighlightDetector(HighlightDetector&&) noexcept = default;
HighlightDetector& HighlightDetector::operator=(HighlightDetector&&) noexcept = default;

std::vector<std::string> HighlightDetector::features() const {
  std::vector<std::string> names;
  for (Feature f : impl_->needs.features) names.emplace_back(feature_spec(f).name);
  return names;
}

VideoRate HighlightDetector::feature_rate() const { return {impl_->needs.fps.num, impl_->needs.fps.den}; }

namespace {

// A private folder under the system's temporary folder, removed with everything in it
// when this goes out of scope.
class TemporaryFolder {
 public:
  TemporaryFolder() {
    std::string pattern = (std::filesystem::temp_directory_path() / "hl-detector.XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw Error(pattern + ": cannot create a temporary folder for the features");
    path_ = pattern;
  }
  ~TemporaryFolder() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TemporaryFolder(const TemporaryFolder&) = delete;
  TemporaryFolder& operator=(const TemporaryFolder&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

std::vector<float> HighlightDetector::score_file(const std::string& path) const {
  const Impl& d = *impl_;
  TemporaryFolder dir;
  const ExtractResult extracted = extract_video(path, dir.path(), d.extract);
  check_feature_file_matches(d.needs, extracted.output, d.model_path);
  return score_feature_file(*d.model, dir.path(), video_id(path));
}

// ---------------------------------------------------------------------------------------
// Streams

struct HighlightStream::Impl {
  Impl(const HighlightDetector::Impl& detector, VideoRate frame_rate, int sample_rate)
      : features(detector.needs.features, detector.needs.fps, FrameRate{frame_rate.num, frame_rate.den}, sample_rate,
                 detector.visual.get()),
        scorer(*detector.model) {}
  StreamFeatures features;
  SegmentScorer scorer;
  std::vector<SegmentScore> ready;  // scored, not yet polled: [head, size)
  size_t head = 0;
  bool finished = false;

  void score_complete(bool at_end) {
    while (const StreamFeatures::Segment* s = features.next_complete(at_end)) {
      SegmentScore out;
      out.segment = s->index;
      out.start_seconds = static_cast<double>(s->index) * kSegmentSeconds;
      out.end_seconds = out.start_seconds + kSegmentSeconds;
      out.score = scorer.score(s->inputs);
      if (head == ready.size()) {  // everything polled: reuse the space
        ready.clear();
        head = 0;
      }
      ready.push_back(out);
      features.release_segment();
    }
  }
  void check_open(const char* what) const {
    if (finished) throw Error(std::string("HighlightStream::") + what + ": the stream was finished");
  }
};

HighlightStream HighlightDetector::stream(VideoRate frame_rate, int sample_rate) const {
  auto s = std::make_unique<HighlightStream::Impl>(*impl_, frame_rate, sample_rate);
  s->ready.reserve(64);
  return HighlightStream(std::move(s));
}

HighlightStream::HighlightStream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HighlightStream::~HighlightStream() = default;
HighlightStream::HighlightStream(HighlightStream&&) noexcept = default;
HighlightStream& HighlightStream::operator=(HighlightStream&&) noexcept = default;

void HighlightStream::push_video_frame(const uint8_t* rgb, int width, int height, int64_t pts_us) {
  impl_->check_open("push_video_frame");
  impl_->features.push_video_frame(rgb, width, height, pts_us);
  impl_->score_complete(false);
}

void HighlightStream::push_audio(const float* mono, size_t n, int64_t pts_us) {
  impl_->check_open("push_audio");
  impl_->features.push_audio(mono, n, pts_us);
  impl_->score_complete(false);
}

std::optional<SegmentScore> HighlightStream::poll() {
  if (impl_->head == impl_->ready.size()) return std::nullopt;
  return impl_->ready[impl_->head++];
}

std::vector<SegmentScore> HighlightStream::finish() {
  if (!impl_->finished) {
    impl_->finished = true;
    impl_->score_complete(true);
  }
  std::vector<SegmentScore> rest(impl_->ready.begin() + static_cast<std::ptrdiff_t>(impl_->head), impl_->ready.end());
  impl_->head = impl_->ready.size();
  return rest;
}

}  // namespace hl
