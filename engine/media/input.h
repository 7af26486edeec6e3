// Internal to engine/media: one safely opened input file (FFmpeg format context with the
// file protocol only, an allowlisted demuxer, caps and a deadline) and the decoders of
// its streams. Not installed as API; media.h is the interface.
#pragma once
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
}

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "engine/error.h"
#include "engine/media/media.h"

namespace hl::media::detail {

struct CodecContextDeleter {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameDeleter {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
using CodecContextPtr = std::unique_ptr<AVCodecContext, CodecContextDeleter>;
using FramePtr = std::unique_ptr<AVFrame, FrameDeleter>;
using PacketPtr = std::unique_ptr<AVPacket, PacketDeleter>;
FramePtr make_frame();
PacketPtr make_packet();

// "%g" of a number of seconds, for messages.
std::string format_seconds(double s);

// FFmpeg's text for an error code.
std::string av_error_text(int code);

class Input {
 public:
  // Opens `path` and reads stream information. `stop` (may be null) aborts blocking I/O
  // when set, for a reader being destroyed. Throws FormatError.
  Input(const std::string& path, const Limits& limits, const std::atomic<bool>* stop = nullptr);
  ~Input();
  Input(const Input&) = delete;
  Input& operator=(const Input&) = delete;

  AVFormatContext* ctx() const { return ctx_; }
  const std::string& path() const { return path_; }
  const Limits& limits() const { return limits_; }
  const MediaInfo& info() const { return info_; }

  // The stream index of the video stream; FormatError if there is none.
  int video_stream() const;
  // The stream index of audio stream k (-1: the first); FormatError if there is none.
  int audio_stream(int k) const;
  // An opened decoder for stream `index`, with the pixel cap and thread count set.
  CodecContextPtr open_decoder(int index) const;

  // Reads the next packet: true, or false at the end of the file. Throws FormatError on
  // a read error, the deadline, or a stop request.
  bool read(AVPacket* packet);
  // At the end of the file: throws FormatError if the container's index of stream
  // `index` points past the end of the file (a download cut short).
  void check_complete(int index) const;
  // Throws FormatError when the deadline has passed or a stop was requested.
  void check_deadline() const;
  // Moves the deadline later by `d` (time spent waiting for the consumer).
  void extend_deadline(std::chrono::steady_clock::duration d);

  // FormatError naming this file.
  [[noreturn]] void fail(const std::string& problem) const;

 private:
  static int interrupt_callback(void* opaque);
  bool expired() const;
  bool stopped() const { return stop_ != nullptr && stop_->load(std::memory_order_relaxed); }
  void open();
  void describe();

  std::string path_;
  Limits limits_;
  const std::atomic<bool>* stop_;
  std::atomic<int64_t> deadline_ns_{0};  // steady_clock time since epoch
  AVFormatContext* ctx_ = nullptr;
  AVIOContext* io_ = nullptr;  // ours (custom I/O), closed after ctx_
  MediaInfo info_;
};

// Converts a timestamp in `tb` units to seconds.
inline double to_seconds(int64_t ts, AVRational tb) { return static_cast<double>(ts) * av_q2d(tb); }

// Routes FFmpeg's log to hl's log at debug level (once per process).
void install_log_callback();

}  // namespace hl::media::detail
