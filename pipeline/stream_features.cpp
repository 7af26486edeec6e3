// A stream's features, as hl-extract computes them for a file: see stream_features.h.
#include "pipeline/stream_features.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "engine/autograd/variable.h"
#include "engine/error.h"
#include "nets/mfcc.h"
#include "nets/mini_xception.h"
#include "pipeline/feature_rows.h"
#include "pipeline/segment_dataset.h"
#include "pipeline/visual_features.h"

namespace hl {

namespace {

constexpr int kAudioRate = 16000;  // what the MFCC reads (media::decode_mfcc_signal's rate)
constexpr int64_t kNoLimit = std::numeric_limits<int64_t>::max();

int64_t row_elements_of(Feature f) {
  int64_t n = 1;
  for (int64_t d : feature_spec(f).frame_shape) n *= d;
  return n;
}

}  // namespace

StreamFeatures::StreamFeatures(std::vector<Feature> features, FrameRate fps, FrameRate input_rate, int sample_rate,
                               VisualFeatureExtractor* visual)
    : features_(std::move(features)), fps_(fps), input_rate_(input_rate), visual_(visual), mfcc_(mfcc_params_for(fps)) {
  if (sample_rate != kAudioRate)
    throw Error("HighlightDetector::stream: audio at " + std::to_string(sample_rate) +
                " Hz; the stream takes 16000-Hz mono audio (the MFCC's rate): resample it first");
  // From one frame per segment to 1000 fps (hl-extract's range): a frame then settles at
  // most 5 s of ticks.
  using Wide = __int128;
  if (input_rate.num <= 0 || input_rate.den <= 0 || input_rate.num > 1'000'000'000 ||
      input_rate.den > 1'000'000'000 || Wide{input_rate.num} * 5 < Wide{input_rate.den} ||
      Wide{input_rate.num} > Wide{input_rate.den} * 1000)
    throw Error("HighlightDetector::stream: the frame rate " + std::to_string(input_rate.num) + "/" +
                std::to_string(input_rate.den) + " is outside 1/5 to 1000 fps");
  // Ticks of one segment, and buffers for about two of them (plus one frame's worth of
  // settling) so that a steady stream never grows them.
  const int64_t segment_ticks = (int64_t{kSegmentSeconds} * fps.num + fps.den - 1) / fps.den + 2;
  for (Feature f : features_) {
    const FeatureSpec& spec = feature_spec(f);
    const int64_t rows = int64_t{kTicksPerSegment} * spec.rows_per_frame;
    std::vector<int64_t> dims = {kStreamBatch, rows};
    if (spec.frame_shape.empty()) dims.push_back(1);
    dims.insert(dims.end(), spec.frame_shape.begin(), spec.frame_shape.end());
    inputs_.emplace(f, Tensor::zeros(Shape(dims), DType::F32));
    if (f == Feature::Mfcc) {
      needs_audio_ = true;
    } else if (f == Feature::GoogLeNet || f == Feature::Places365 || f == Feature::Faces || f == Feature::Affect) {
      visual_features_.push_back(f);
      rows_[f].reserve(static_cast<size_t>(3 * segment_ticks * row_elements_of(f)));
      last_frame_rows_[f].assign(static_cast<size_t>(row_elements_of(f)), 0.0f);
    } else {
      throw Error(std::string("HighlightDetector::stream: the feature '") + spec.name + "' cannot be streamed");
    }
  }
  if (!visual_features_.empty() && !visual_) throw Error("HighlightDetector::stream: the visual networks are not loaded");
  for (Feature f : visual_features_) {
    if (f == Feature::Faces || f == Feature::Affect) {  // one detection gives both
      wants_faces_ = true;
      wants_affect_ = wants_affect_ || f == Feature::Affect;
      faces_step_ = visual_->faces_step();
      const std::vector<Feature>& loaded = visual_->features();
      if (std::find(loaded.begin(), loaded.end(), f) == loaded.end())
        throw Error(std::string("HighlightStream: the '") + feature_spec(f).name + "' network is not loaded");
      if (f == Feature::Affect && row_elements_of(f) != kAffectEmbeddingDim)
        throw Error("HighlightStream: the model's affect rows have " + std::to_string(row_elements_of(f)) +
                    " values, the affect network gives " + std::to_string(kAffectEmbeddingDim));
    } else {
      embed_rows_[f] = last_frame_rows_[f].data();
    }
  }
  if (needs_audio_) {
    plan_ = std::make_unique<cpu::MfccPlan>(mfcc_);
    signal_.reserve(static_cast<size_t>(3 * kSegmentSeconds * kAudioRate));
    pending_.reserve(static_cast<size_t>(kAudioRate));
    mfcc_rows_.resize(static_cast<size_t>((segment_ticks * kMfccRowsPerFrame + 8) * mfcc_.cepstra));
  }
}

// ---------------------------------------------------------------------------------------
// Video

void StreamFeatures::push_video_frame(const uint8_t* rgb, int width, int height, int64_t pts_us) {
  if (!rgb || width <= 0 || height <= 0)
    throw Error("HighlightStream::push_video_frame: an empty frame (" + std::to_string(width) + "x" +
                std::to_string(height) + ")");
  if (!have_video_) {
    have_video_ = true;
    video_start_us_ = pts_us;
    align_pending_audio();
  }
  const int64_t rel = pts_us - video_start_us_;
  // A pts jump cannot make the stream hold one frame for billions of ticks: 6 hours at
  // most, engine/media's cap on a file's output.
  constexpr int64_t kMaxStreamMicroseconds = int64_t{6} * 3600 * 1'000'000;
  if (rel > kMaxStreamMicroseconds)
    throw Error("HighlightStream::push_video_frame: pts " + std::to_string(pts_us) +
                " us is more than 6 hours after the first frame's; start a new stream");
  if (rel <= last_pts_rel_us_)
    throw Error("HighlightStream::push_video_frame: pts " + std::to_string(pts_us) +
                " us is not after the previous frame's (" + std::to_string(last_pts_rel_us_ + video_start_us_) +
                " us): frames must come in presentation order");
  settle_ticks(rel, rgb, width, height);
  last_pts_rel_us_ = rel;
}

// Times in units of 1 / (2 · fps.num · rate.num) µs, all integers: tick n's time plus
// half a microsecond, a frame's pts, and the frame interval of the input rate.
void StreamFeatures::settle_ticks(int64_t rel, const uint8_t* rgb, int width, int height) {
  using Wide = __int128;
  const Wide scale = Wide{2} * fps_.num * input_rate_.num;
  const auto tick_time = [&](int64_t n) {  // 2·num·rn·(n·den/num·1e6 + 0.5)
    return Wide{2} * n * fps_.den * 1'000'000 * input_rate_.num + Wide{fps_.num} * input_rate_.num;
  };
  const Wide pts = Wide{rel} * scale;
  const Wide interval = Wide{2} * 1'000'000 * input_rate_.den * fps_.num;
  // Ticks before this frame that the previous frame did not settle (this frame came
  // later than the input rate said): they hold the previous frame.
  while (have_last_frame_ && tick_time(ticks_) < pts) settle_with_last();
  // This frame is now the latest; its pixels are kept (and go through the networks) only
  // when a tick holds it: frames faster than the feature rate are skipped as hl-extract's
  // reader skips them.
  if (!visual_features_.empty()) {
    if (!last_frame_.defined() || last_frame_.size(0) != height || last_frame_.size(1) != width)
      last_frame_ = Tensor::empty(Shape({height, width, 3}), DType::U8);  // [H, W, 3]
    std::memcpy(last_frame_.data<uint8_t>(), rgb, static_cast<size_t>(height) * static_cast<size_t>(width) * 3);
    last_embedded_ = false;
    last_face_detected_ = false;
  }
  have_last_frame_ = true;
  while (tick_time(ticks_) < pts + interval) settle_with_last();
}

// Tick `ticks_` holds the latest frame: its visual rows (the frame's embedding, computed
// the first time a tick holds it).
void StreamFeatures::settle_with_last() {
  if (!embed_rows_.empty() && !last_embedded_) {
    visual_->embed_frame(last_frame_, embed_rows_);
    last_embedded_ = true;
  }
  if (wants_faces_) {
    // A detection tick detects on the frame it holds (again only if that frame is new:
    // the same frame gives the same value); the other ticks hold the last detection.
    if (ticks_ % faces_step_ == 0 && !last_face_detected_) {
      // Straight into the affect row (the held one until the next detection): no
      // allocation per frame on the CPU once the detector's buffers have grown.
      float* affect_row = wants_affect_ ? last_frame_rows_[Feature::Affect].data() : nullptr;
      visual_->face_values_into(last_frame_, &held_face_, affect_row, nullptr);
      last_face_detected_ = true;
    }
    // The held affect row stays in last_frame_rows_ until the next detection.
    if (last_frame_rows_.count(Feature::Faces)) last_frame_rows_[Feature::Faces][0] = held_face_;
  }
  for (Feature f : visual_features_) {
    const std::vector<float>& row = last_frame_rows_[f];
    rows_[f].insert(rows_[f].end(), row.begin(), row.end());
  }
  ++ticks_;
}

// ---------------------------------------------------------------------------------------
// Audio

void StreamFeatures::push_audio(const float* mono, size_t n, int64_t pts_us) {
  if (!needs_audio_) return;  // a visual-only model: audio is not used
  if (n > 0 && !mono) throw Error("HighlightStream::push_audio: no samples");
  if (!have_audio_) {
    have_audio_ = true;
    audio_start_us_ = pts_us;
    if (have_video_) align_pending_audio();
  }
  if (!have_video_) {
    for (size_t i = 0; i < n; ++i) pending_.push_back(mono[i] * 32768.0f);
    return;
  }
  for (size_t i = 0; i < n; ++i) {
    if (to_drop_ > 0) {
      --to_drop_;
      continue;
    }
    signal_.push_back(mono[i] * 32768.0f);  // media::mfcc_signal's scale
  }
}

// The audio's place against the first frame (extract.cpp's align_audio_to_video): audio
// that starts later is preceded by silence, audio that starts earlier loses the samples
// before the first frame. Runs once both first timestamps are known.
void StreamFeatures::align_pending_audio() {
  if (!have_audio_ || !have_video_) return;
  const double offset_seconds = static_cast<double>(audio_start_us_ - video_start_us_) / 1e6;
  const double shift = std::round(offset_seconds * kAudioRate);
  if (shift > 0) signal_.assign(static_cast<size_t>(shift), 0.0f);
  if (shift < 0) to_drop_ = static_cast<int64_t>(-shift);
  for (float x : pending_) {
    if (to_drop_ > 0) {
      --to_drop_;
      continue;
    }
    signal_.push_back(x);
  }
  pending_.clear();
}

// ---------------------------------------------------------------------------------------
// Segments

// Rows from `first_row` on are computed from a window of the signal that starts at a row
// k <= first_row - step_den with k a multiple of step_den (or at 0): the row starts then
// shift by exactly k · step (an integer), so the window's rows start where the whole
// signal's do, each with the sample before it (the pre-emphasis reads it).
int64_t StreamFeatures::mfcc_window_start(int64_t first_row) const {
  int64_t k = first_row / mfcc_.step_den * mfcc_.step_den;
  if (k >= mfcc_.step_den) k -= mfcc_.step_den;
  return k;
}

bool StreamFeatures::audio_ready(int64_t segment, bool at_end) const {
  if (!needs_audio_ || at_end) return true;
  if (!have_audio_) return false;
  const FrameRate rate{fps_.num * kMfccRowsPerFrame, fps_.den};
  const int64_t last_tick = (segment + 1) * kTicksPerSegment * kMfccRowsPerFrame - 1;
  const int64_t last_row = held_row_at_tick(last_tick, int64_t{kTicksPerSecond} * kMfccRowsPerFrame, rate, kNoLimit);
  const int64_t end = mfcc_row_start(last_row, mfcc_.step_num, mfcc_.step_den) + mfcc_.window;
  return signal_base_ + static_cast<int64_t>(signal_.size()) >= end;
}

const StreamFeatures::Segment* StreamFeatures::next_complete(bool at_end) {
  if (complete_segments(ticks_, fps_) <= next_segment_) return nullptr;
  if (at_end && needs_audio_ && !have_audio_)
    throw Error("HighlightStream::finish: the model needs audio (mfcc) and the stream had none");
  if (!audio_ready(next_segment_, at_end)) return nullptr;
  assemble(next_segment_);
  segment_.index = next_segment_;
  return &segment_;
}

void StreamFeatures::assemble(int64_t segment) {
  for (Feature f : features_) {
    const FeatureSpec& spec = feature_spec(f);
    Tensor& t = inputs_.at(f);
    float* dst = t.data<float>();  // item 0
    const int64_t elems = row_elements_of(f);
    const int64_t rows = int64_t{kTicksPerSegment} * spec.rows_per_frame;
    const int64_t ticks_per_second = int64_t{kTicksPerSecond} * spec.rows_per_frame;
    const FrameRate rate{fps_.num * spec.rows_per_frame, fps_.den};
    const int64_t count = ticks_ * spec.rows_per_frame;
    if (f == Feature::Mfcc) {
      const int64_t first = held_row_at_tick(segment * rows, ticks_per_second, rate, count);
      const int64_t last = held_row_at_tick(segment * rows + rows - 1, ticks_per_second, rate, count);
      const int64_t k = mfcc_window_start(first);
      const int64_t window = k * mfcc_.step_num / mfcc_.step_den;  // the window's first sample
      const int64_t have = signal_base_ + static_cast<int64_t>(signal_.size()) - window;
      const int64_t n_rows = last - first + 1;
      if (static_cast<size_t>(n_rows * elems) > mfcc_rows_.size()) mfcc_rows_.resize(static_cast<size_t>(n_rows * elems));
      const float* samples = have > 0 ? signal_.data() + (window - signal_base_) : signal_.data();
      plan_->run(samples, std::max<int64_t>(have, 0), first - k, n_rows, mfcc_rows_.data());
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t j = held_row_at_tick(segment * rows + r, ticks_per_second, rate, count);
        std::memcpy(dst + r * elems, mfcc_rows_.data() + (j - first) * elems, static_cast<size_t>(elems) * sizeof(float));
      }
    } else {
      const std::vector<float>& src = rows_.at(f);
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t j = held_row_at_tick(segment * rows + r, ticks_per_second, rate, count);
        std::memcpy(dst + r * elems, src.data() + (j - rows_base_) * elems, static_cast<size_t>(elems) * sizeof(float));
      }
    }
    // Every value a model sees is finite, as SegmentDataset::batch checks a file's.
    if (first_non_finite(dst, rows * elems) >= 0)
      throw Error("HighlightStream: segment " + std::to_string(segment) + ": the '" + spec.name +
                  "' features are not finite (NaN or infinite samples pushed?)");
  }
}

void StreamFeatures::release_segment() {
  ++next_segment_;
  const int64_t first_tick = next_segment_ * kTicksPerSegment;
  const int64_t keep_from = held_frame_at_tick(first_tick, fps_, kNoLimit);
  if (keep_from > rows_base_) {
    for (Feature f : visual_features_) {
      std::vector<float>& r = rows_[f];
      const auto drop = static_cast<size_t>(std::min<int64_t>((keep_from - rows_base_) * row_elements_of(f),
                                                              static_cast<int64_t>(r.size())));
      r.erase(r.begin(), r.begin() + static_cast<std::ptrdiff_t>(drop));
    }
    rows_base_ = keep_from;
  }
  if (needs_audio_) {
    const FrameRate rate{fps_.num * kMfccRowsPerFrame, fps_.den};
    const int64_t first = held_row_at_tick(first_tick * kMfccRowsPerFrame, int64_t{kTicksPerSecond} * kMfccRowsPerFrame,
                                           rate, kNoLimit);
    const int64_t window = mfcc_window_start(first) * mfcc_.step_num / mfcc_.step_den;
    const int64_t drop = std::min<int64_t>(window - signal_base_, static_cast<int64_t>(signal_.size()));
    if (drop > 0) {
      signal_.erase(signal_.begin(), signal_.begin() + static_cast<std::ptrdiff_t>(drop));
      signal_base_ += drop;
    }
  }
}

// ---------------------------------------------------------------------------------------
// Scoring

float SegmentScorer::score(std::map<Feature, Tensor>& inputs) const {
  const InputNormalisation& norm = model_.input_normalisation();
  for (auto& [f, t] : inputs) {
    const int64_t per_item = t.numel() / t.size(0);
    float* item0 = t.data<float>();
    if (norm.enabled()) norm.normalise_rows(f, item0, item0, t.size(1));
    for (int64_t i = 1; i < t.size(0); ++i)
      std::memcpy(item0 + i * per_item, item0, static_cast<size_t>(per_item) * sizeof(float));
  }
  ag::NoGradGuard no_grad;
  const Tensor scores = model_.forward(inputs, /*training=*/false).value().to(Device::cpu());
  const float s = scores.data<float>()[0];
  if (!std::isfinite(s)) throw Error("HighlightStream: the model's score is not finite");
  return s;
}

}  // namespace hl
