// Media decoding with FFmpeg's libraries (DESIGN section 4, specs/formats.md "Media"):
// probing, video frames at a fixed output rate chosen by presentation timestamp, RGB24 at
// the size a consumer asks, audio resampled to the rate and channel count a consumer asks.
//
// Inputs are hostile until proven otherwise: only local regular files are opened (the
// `file` protocol and nothing else; URL-like paths and image-sequence patterns are
// refused), only an allowlist of demuxers that never open further files, and every open
// has caps (pixels, audio seconds, output duration, probe size, consecutive undecodable
// packets) and a wall-clock deadline. Every problem a file can cause is an
// hl::FormatError naming the file. docs/media.md has the rules and their evidence.
//
// This header does not include FFmpeg's headers; it exists only in builds with
// -DHL_FFMPEG=ON (the default).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace hl::media {

// A positive rational rate in frames (ticks) per second.
struct Rate {
  int64_t num = 30000;
  int64_t den = 1001;
  double value() const { return static_cast<double>(num) / static_cast<double>(den); }
};

// Safety caps applied to every file. The defaults admit any ordinary video up to 8K and
// 6 hours; raise them deliberately.
struct Limits {
  // Largest width x height of a video stream (as declared) and of every decoded frame.
  int64_t max_pixels = 7680LL * 4320LL;
  // Most seconds of audio decoded from one stream (counted in decoded input samples).
  double max_audio_seconds = 6 * 3600.0;
  // Most seconds of video output (ticks / output rate): a timestamp jump cannot make us
  // emit billions of held frames.
  double max_video_seconds = 6 * 3600.0;
  // Wall-clock seconds that opening and decoding one file may take. Time the decoder
  // spends waiting for a slow consumer (a full queue) does not count.
  double deadline_seconds = 600.0;
  // Bytes the format probe and the stream-info analysis may read.
  int64_t probe_bytes = 5'000'000;
  // Consecutive packets of the decoded stream that the decoder rejects before we give up.
  int max_bad_packets = 32;
  // Decoder threads (0: FFmpeg chooses from the core count).
  int decoder_threads = 0;
};

struct VideoStreamInfo {
  int index = -1;  // stream index in the container
  std::string codec;
  int width = 0;  // as declared by the container; frames may differ
  int height = 0;
  Rate frame_rate{0, 1};  // average rate when known, else the container's base rate; 0/1 if unknown
  int64_t frame_count = 0;  // declared by the container; 0 if unknown
  double duration_seconds = 0;  // 0 if unknown
};

struct AudioStreamInfo {
  int index = -1;  // stream index in the container
  std::string codec;
  int sample_rate = 0;
  int channels = 0;
  double duration_seconds = 0;  // 0 if unknown
};

struct MediaInfo {
  std::string path;
  std::string format;  // FFmpeg's demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
  bool is_image = false;  // a still image (PNG, JPEG, ...): one frame
  double duration_seconds = 0;  // container duration; 0 if unknown
  std::optional<VideoStreamInfo> video;  // the stream VideoReader decodes (no cover art)
  std::vector<AudioStreamInfo> audio;  // in container order; AudioOptions::stream indexes it
};

// Opens the file under `limits`, reads its headers and stream information, and closes it.
MediaInfo probe(const std::string& path, const Limits& limits = {});

// ---------------------------------------------------------------------------------------
// Video

struct VideoOptions {
  // Output rate. Tick n is at time n / rate after the first decoded frame's timestamp and
  // shows the latest decoded frame whose timestamp is <= that time (docs/media.md).
  Rate rate{30000, 1001};
  // A second output rate sampled by the same rule from the same decoded frames (0/1:
  // none), so two consumers at two rates share one decoding pass. With it, next() gives
  // each decoded frame that a tick of either rate shows once, with VideoFrame::ticks and
  // second_ticks saying how many consecutive ticks of each rate show it (either may be 0);
  // each rate's ticks are exactly those a reader at that rate alone gives.
  Rate second_rate{0, 1};
  // Output size; 0 x 0 keeps each frame's own size (which may change mid-stream).
  int width = 0;
  int height = 0;
  // libswscale flags in the syntax of the ffmpeg scale filter's flags= option, e.g.
  // "bicubic" (the ffmpeg command line's default), "bilinear", "area+accurate_rnd".
  std::string scale_flags = "bicubic";
  // Decoded frames the decoding thread may run ahead of the consumer.
  int queue_frames = 8;
  Limits limits;
};

struct VideoFrame {
  Tensor rgb;  // u8 [H, W, 3], host memory (pinned in CUDA builds), rows packed
  int64_t index = 0;  // output tick n
  double time_seconds = 0;  // n / rate (relative to the first frame)
  double source_seconds = 0;  // timestamp of the decoded frame shown, relative to the first
  int64_t source_index = 0;  // which decoded frame (0-based, decode order)
  // Ticks of `rate` showing this frame, from `index` on: always 1 without a second rate.
  int64_t ticks = 1;
  // With VideoOptions::second_rate: the second rate's ticks showing this frame, from
  // second_index on (0 without one).
  int64_t second_index = 0;
  int64_t second_ticks = 0;
};

// Decodes the video stream of a file (or a still image, as one frame) in its own thread
// ahead of the consumer, through a bounded queue. The constructor opens the file and
// throws hl::FormatError for files that cannot be decoded at all; errors found later are
// rethrown by next() after the frames decoded before them.
class VideoReader {
 public:
  explicit VideoReader(const std::string& path, VideoOptions options = {});
  ~VideoReader();  // stops the decoding thread (it does not wait for the file's end)
  VideoReader(const VideoReader&) = delete;
  VideoReader& operator=(const VideoReader&) = delete;

  // The next output frame; false at the end of the video.
  bool next(VideoFrame* out);
  const MediaInfo& info() const;
  // Timestamp of the first decoded frame in the container's clock (tick 0's time); valid
  // once next() has returned a frame.
  double start_seconds() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------------------------------
// Audio

struct AudioOptions {
  int sample_rate = 16000;
  int channels = 1;
  // Which audio stream: -1 the first; k >= 0 the k-th (0-based) audio stream, like the
  // ffmpeg command line's -map 0:a:k.
  int stream = -1;
  Limits limits;
};

struct Audio {
  Tensor samples;  // f32 [channels, n], planar, in [-1, 1)
  int sample_rate = 0;
  int channels = 0;
  int stream_index = -1;  // container stream index it came from
  // Timestamp of the first decoded sample in the container's clock (0 for most files);
  // compare with VideoReader::start_seconds() to align audio and video.
  double start_seconds = 0;
};

// Decodes and resamples (libswresample, default options) one whole audio stream.
// "…has no audio stream; audio features (mfcc) need one" when the file has none.
Audio decode_audio(const std::string& path, const AudioOptions& options = {});

// The signal MFCC expects (nets/mfcc.h): f32 [n], mono, scaled by 32768 (16-bit PCM
// amplitude). Throws hl::Error unless audio has one channel.
Tensor mfcc_signal(const Audio& audio);

// Convenience: decode_audio at 16 kHz mono then mfcc_signal.
Tensor decode_mfcc_signal(const std::string& path, const Limits& limits = {});

}  // namespace hl::media
