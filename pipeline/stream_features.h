// The features of a live stream, computed as frames and audio arrive, for the streaming
// detector (include/hl/highlights.h). They are hl-extract's features of the same frames
// and audio (pipeline/extract.h), assembled into a segment's model inputs the way
// SegmentDataset::batch does for a feature file, so a stream's scores equal the file's:
//
// - frames: the feature clock ticks at the model's rate `fps` from the first frame's pts;
//   tick n holds the latest frame with pts <= n / fps (+ half a microsecond: pts are whole
//   microseconds), as engine/media's VideoReader does. A tick is settled once a frame
//   holds it and the next frame, expected 1 / input_rate later, cannot. Each new held
//   frame goes through the visual networks (VisualFeatureExtractor, one frame a call).
// - audio: 16-kHz mono in [-1, 1], scaled by 32768 (media::mfcc_signal), aligned with the
//   first frame by the first chunk's pts (extract.cpp's align_audio_to_video); the MFCC
//   rows of a segment are computed once its audio is there, from a window of the signal
//   (cpu::MfccPlan computes any rows from the samples under them and the one before).
//
// Buffers hold about two segments and are reserved up front; what a segment no longer
// needs is dropped when it is released (memmove, no allocation).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "engine/tensor.h"
#include "kernels/cpu/mfcc.h"
#include "nets/features.h"
#include "nets/highlight_model.h"
#include "nets/segments.h"

namespace hl {

class VisualFeatureExtractor;

// Segments go through the model one at a time, as they complete. The features are the
// file's bit for bit; the score can differ from score_file's in the last bit or two
// (measured: at most 1.2e-7 on scores of about 0.4), because OpenBLAS sums a product's
// rows with micro-kernels chosen by the row's place in the batch (hl-highlights scores
// every segment of a file in one batch, at most 300), so the same segment's LSTM and head
// products round differently at another place. A batch of two copies was tried: as far
// from bit-exact (sometimes equal, sometimes 1 ulp off) at twice the work.
inline constexpr int64_t kStreamBatch = 1;

class StreamFeatures {
 public:
  // features: the model's (each computable; visual ones need `visual`, loaded for them).
  // Throws hl::Error for a sample rate other than 16000 or a non-positive input rate.
  StreamFeatures(std::vector<Feature> features, FrameRate fps, FrameRate input_rate, int sample_rate,
                 VisualFeatureExtractor* visual);

  // Throws hl::Error for an empty frame, a pts not after the previous frame's, or audio
  // that is not finite.
  void push_video_frame(const uint8_t* rgb, int width, int height, int64_t pts_us);
  void push_audio(const float* mono, size_t n, int64_t pts_us);

  struct Segment {
    int64_t index = 0;
    // Per feature f32 [kStreamBatch, 150 (600 for mfcc), frame_shape...]: the raw
    // features of the segment in item 0 (not standardised; SegmentScorer does it).
    std::map<Feature, Tensor>& inputs;
  };
  // The next segment whose frames (and audio) are all there, assembled in inputs; null
  // when none. at_end: the stream is over (missing audio is silence, as past a file's
  // end). Call release_segment() once it is scored.
  const Segment* next_complete(bool at_end);
  void release_segment();

  int64_t ticks() const { return ticks_; }

 private:
  void settle_ticks(int64_t pts_rel_us, const uint8_t* rgb, int width, int height);
  void settle_with_last();
  void append_aligned(const float* mono, size_t n);
  void align_pending_audio();
  bool audio_ready(int64_t segment, bool at_end) const;
  void assemble(int64_t segment);
  int64_t mfcc_window_start(int64_t first_row) const;  // the sample a window of rows from first_row starts at

  std::vector<Feature> features_;
  FrameRate fps_, input_rate_;
  VisualFeatureExtractor* visual_;
  std::vector<Feature> visual_features_;
  bool needs_audio_ = false;
  MfccParams mfcc_;
  std::unique_ptr<cpu::MfccPlan> plan_;

  // Video clock.
  bool have_video_ = false;
  int64_t video_start_us_ = 0, last_pts_rel_us_ = -1;
  int64_t ticks_ = 0;  // settled ticks: T so far
  // Visual rows per tick from tick rows_base_ on: [ticks - rows_base, dim] per feature.
  std::map<Feature, std::vector<float>> rows_;
  int64_t rows_base_ = 0;
  bool have_last_frame_ = false;
  // The latest frame (u8 [height, width, 3], for visual features only; reused while the
  // frame size stays) and its embedding once a tick holds it.
  Tensor last_frame_;
  bool last_embedded_ = false;
  std::map<Feature, std::vector<float>> last_frame_rows_;
  std::map<Feature, float*> embed_rows_;  // googlenet / places365: last_frame_rows_' data
  // faces: detected at ticks 0, step, 2·step, ... of the whole stream (the file's frame
  // index, hl-extract --faces-step), the value held in between.
  bool wants_faces_ = false;   // faces or affect: the detection runs
  bool wants_affect_ = false;  // affect: fer's crop of the detected face too
  int64_t faces_step_ = 1;
  float held_face_ = 0.0f;
  bool last_face_detected_ = false;  // held_face_ is the latest frame's detection

  // Audio in the stream's clock: signal_[i] is sample signal_base_ + i of the aligned signal.
  bool have_audio_ = false;
  int64_t audio_start_us_ = 0;
  std::vector<float> pending_;  // audio before the first frame (scaled), aligned when it comes
  int64_t to_drop_ = 0;         // samples before the first frame still to drop
  std::vector<float> signal_;
  int64_t signal_base_ = 0;

  int64_t next_segment_ = 0;
  std::map<Feature, Tensor> inputs_;
  std::vector<float> mfcc_rows_;  // scratch: the segment's MFCC rows [n, 13]
  Segment segment_{0, inputs_};
};

// The highlight model on one assembled segment: standardises item 0 with the model's
// statistics, copies it into the other items of the batch, and returns item 0's score.
class SegmentScorer {
 public:
  explicit SegmentScorer(const HighlightModel& model) : model_(model) {}
  float score(std::map<Feature, Tensor>& inputs) const;

 private:
  const HighlightModel& model_;
};

}  // namespace hl
