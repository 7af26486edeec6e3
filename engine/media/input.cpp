#include "engine/media/input.h"

extern "C" {
#include <libavutil/log.h>
#include <libavutil/opt.h>
}

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string_view>
#include <vector>

#include "engine/log.h"

namespace hl::media::detail {
namespace {

// Demuxers we accept (the first name of FFmpeg's comma-separated demuxer name). None of
// them opens further files: playlists (hls, concat, dash), image sequences and the like
// are absent, and the two that could are configured not to (image2: pattern_type=none,
// mov: enable_drefs=0).
constexpr std::array<std::string_view, 35> kAllowedDemuxers = {
    "mov", "matroska", "avi", "flv", "mpegts", "mpeg", "mpegvideo", "ogg", "wav",
    "w64", "mp3", "aac", "flac", "asf", "nut", "ivf", "h264", "hevc", "m4v",
    "mjpeg", "gif", "yuv4mpegpipe", "aiff", "amr", "au", "wv", "ac3", "eac3",
    "image2", "png_pipe", "jpeg_pipe", "bmp_pipe", "webp_pipe", "tiff_pipe", "obu"};
// Of those, the still-image ones: one frame.
constexpr std::array<std::string_view, 6> kImageDemuxers = {"image2",    "png_pipe",  "jpeg_pipe",
                                                            "bmp_pipe", "webp_pipe", "tiff_pipe"};
// Demuxers that read further files or URLs named inside the input.
constexpr std::array<std::string_view, 5> kPlaylistDemuxers = {"hls", "concat", "dash", "webm_dash_manifest",
                                                               "image2pipe"};

constexpr int kMaxStreams = 64;
constexpr int kMaxSampleRate = 768000;
constexpr int kMaxChannels = 64;

std::string first_name(const char* names) {
  std::string s = names ? names : "";
  return s.substr(0, s.find(','));
}

template <size_t N>
bool contains(const std::array<std::string_view, N>& list, const std::string& name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

// "http://x", "concat:a|b", "subfile,,start,0,end,1,,:f", "pipe:0", "file:x", ... — any
// FFmpeg protocol prefix. A Windows drive letter is not one, but paths here are POSIX.
bool looks_like_url(const std::string& path) {
  if (path.rfind("subfile,", 0) == 0) return true;
  size_t i = 0;
  if (i < path.size() && std::isalpha(static_cast<unsigned char>(path[i]))) {
    while (i < path.size() && (std::isalnum(static_cast<unsigned char>(path[i])) || path[i] == '+' ||
                               path[i] == '-' || path[i] == '.' || path[i] == '_'))
      ++i;
    if (i < path.size() && (path[i] == ':' || path[i] == ',')) return true;
  }
  return path.find("://") != std::string::npos;
}

// printf-style sequence ("%03d", "%d") or glob characters: what image2 expands.
bool looks_like_pattern(const std::string& path) {
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    if (path[i] != '%') continue;
    size_t j = i + 1;
    while (j < path.size() && std::isdigit(static_cast<unsigned char>(path[j]))) ++j;
    if (j < path.size() && path[j] == 'd') return true;
  }
  return path.find_first_of("*?[") != std::string::npos;
}

void log_callback(void* avcl, int level, const char* fmt, va_list vl) {
  if (level > AV_LOG_WARNING || log_level() > LogLevel::Debug) return;
  static int print_prefix = 1;  // FFmpeg's own callback keeps this state the same way
  char line[1024];
  av_log_format_line2(avcl, level, fmt, vl, line, sizeof line, &print_prefix);
  std::string text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (!text.empty()) log_message(LogLevel::Debug, "ffmpeg: " + text);
}

}  // namespace

FramePtr make_frame() {
  FramePtr f(av_frame_alloc());
  if (!f) throw Error("out of memory allocating an AVFrame");
  return f;
}

PacketPtr make_packet() {
  PacketPtr p(av_packet_alloc());
  if (!p) throw Error("out of memory allocating an AVPacket");
  return p;
}

std::string format_seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", s);
  return buf;
}

std::string av_error_text(int code) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, buf, sizeof buf);
  return buf;
}

void install_log_callback() {
  static std::once_flag once;
  std::call_once(once, [] { av_log_set_callback(log_callback); });
}

Input::Input(const std::string& path, const Limits& limits, const std::atomic<bool>* stop)
    : path_(path), limits_(limits), stop_(stop) {
  install_log_callback();
  extend_deadline(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::steady_clock::now().time_since_epoch() + std::chrono::duration<double>(limits.deadline_seconds)));
  try {
    open();
    describe();
  } catch (...) {
    if (ctx_) avformat_close_input(&ctx_);
    if (io_) avio_closep(&io_);
    throw;
  }
}

Input::~Input() {
  if (ctx_) avformat_close_input(&ctx_);
  if (io_) avio_closep(&io_);
}

void Input::fail(const std::string& problem) const { throw FormatError(path_, problem); }

void Input::extend_deadline(std::chrono::steady_clock::duration d) {
  deadline_ns_.fetch_add(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}

bool Input::expired() const {
  const int64_t now =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count();
  return now > deadline_ns_.load();
}

void Input::check_deadline() const {
  if (stopped()) fail("decoding was stopped");
  if (expired())
    fail("decoding took longer than the deadline of " + format_seconds(limits_.deadline_seconds) +
         " s (Limits::deadline_seconds); the file may be damaged or hostile, or raise the limit");
}

int Input::interrupt_callback(void* opaque) {
  const auto* self = static_cast<const Input*>(opaque);
  return (self->stopped() || self->expired()) ? 1 : 0;
}

void Input::open() {
  if (path_.empty()) fail("empty path");
  if (looks_like_url(path_))
    fail("looks like a URL or an FFmpeg protocol, not a local file; only local files are read "
         "(write ./NAME for a local file whose name contains ':')");
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT && looks_like_pattern(path_))
      fail("no such file; image-sequence patterns (%d, *) are not expanded: give one file");
    fail(std::string("cannot open: ") + std::strerror(err));
  }
  if (S_ISDIR(st.st_mode)) fail("is a directory, not a media file");
  if (!S_ISREG(st.st_mode)) fail("is not a regular file (devices, pipes and sockets are refused)");
  if (st.st_size == 0) fail("is empty (0 bytes), not a media file");

  const std::string url = "file:" + path_;
  const AVIOInterruptCB cb{&Input::interrupt_callback, this};
  AVDictionary* io_opts = nullptr;
  av_dict_set(&io_opts, "protocol_whitelist", "file", 0);
  int ret = avio_open2(&io_, url.c_str(), AVIO_FLAG_READ, &cb, &io_opts);
  av_dict_free(&io_opts);
  if (ret < 0) {
    check_deadline();
    fail("cannot open: " + av_error_text(ret));
  }

  ctx_ = avformat_alloc_context();
  if (!ctx_) throw Error("out of memory allocating an AVFormatContext");
  ctx_->interrupt_callback = cb;
  ctx_->pb = io_;  // custom I/O: avformat never opens the file (or anything else) itself
  ctx_->flags |= AVFMT_FLAG_CUSTOM_IO;  // and never closes io_: we do, after ctx_

  const AVInputFormat* fmt = nullptr;
  const int64_t probe_limit = std::max<int64_t>(limits_.probe_bytes, 2048);
  ret = av_probe_input_buffer2(io_, &fmt, url.c_str(), ctx_, 0,
                               static_cast<unsigned>(std::min<int64_t>(probe_limit, 1 << 30)));
  if (ret < 0 || fmt == nullptr) {
    check_deadline();
    fail("is not a media file (FFmpeg recognises no audio, video or image format in it)");
  }
  const std::string name = first_name(fmt->name);
  if (ret < AVPROBE_SCORE_RETRY)
    fail("is not a media file (FFmpeg's best guess, '" + name + "', scores only " + std::to_string(ret) +
         " of 100)");
  if (contains(kPlaylistDemuxers, name))
    fail("is a playlist or list of files ('" + name +
         "'); it would make the decoder read other files, so it is refused: give the media file itself");
  if (!contains(kAllowedDemuxers, name))
    fail("is a '" + std::string(fmt->name) + "' file, which is not a supported audio/video container or image");

  AVDictionary* opts = nullptr;
  av_dict_set(&opts, "protocol_whitelist", "file", 0);
  av_dict_set_int(&opts, "probesize", probe_limit, 0);
  av_dict_set_int(&opts, "formatprobesize", std::min<int64_t>(probe_limit, 1 << 30), 0);
  av_dict_set_int(&opts, "max_streams", kMaxStreams, 0);
  av_dict_set(&opts, "pattern_type", "none", 0);  // image2: never a sequence
  av_dict_set(&opts, "enable_drefs", "0", 0);     // mov: never external data references
  ret = avformat_open_input(&ctx_, url.c_str(), fmt, &opts);
  av_dict_free(&opts);
  if (ret < 0) {
    ctx_ = nullptr;  // avformat_open_input freed it; io_ is still ours
    check_deadline();
    fail("is truncated or damaged: it cannot be read as '" + name + "' (FFmpeg: " + av_error_text(ret) + ")");
  }

  for (unsigned i = 0; i < ctx_->nb_streams; ++i) {
    const AVCodecParameters* par = ctx_->streams[i]->codecpar;
    if (par->codec_type == AVMEDIA_TYPE_VIDEO &&
        static_cast<int64_t>(par->width) * par->height > limits_.max_pixels)
      fail("video stream " + std::to_string(i) + " declares " + std::to_string(par->width) + "x" +
           std::to_string(par->height) + " pixels, above the cap of " + std::to_string(limits_.max_pixels) +
           " pixels per frame (Limits::max_pixels)");
  }

  // Stream analysis decodes a few frames; the same pixel cap applies to those decoders.
  std::vector<AVDictionary*> stream_opts(ctx_->nb_streams, nullptr);
  for (auto& d : stream_opts) {
    av_dict_set_int(&d, "max_pixels", limits_.max_pixels, 0);
    av_dict_set_int(&d, "threads", 1, 0);
  }
  ret = avformat_find_stream_info(ctx_, stream_opts.empty() ? nullptr : stream_opts.data());
  for (auto& d : stream_opts) av_dict_free(&d);
  if (ret < 0) {
    check_deadline();
    fail("is truncated or damaged: its streams cannot be analysed (FFmpeg: " + av_error_text(ret) + ")");
  }
  check_deadline();
  if (ctx_->nb_streams == 0) fail("is not a media file: it has no audio or video streams");
}

void Input::describe() {
  info_.path = path_;
  info_.format = ctx_->iformat->name;
  info_.is_image = contains(kImageDemuxers, first_name(ctx_->iformat->name));
  info_.duration_seconds = ctx_->duration > 0 ? static_cast<double>(ctx_->duration) / AV_TIME_BASE : 0.0;
  for (unsigned i = 0; i < ctx_->nb_streams; ++i) {
    const AVStream* st = ctx_->streams[i];
    const AVCodecParameters* par = st->codecpar;
    const double dur = st->duration > 0 ? to_seconds(st->duration, st->time_base) : 0.0;
    if (par->codec_type == AVMEDIA_TYPE_VIDEO && !(st->disposition & AV_DISPOSITION_ATTACHED_PIC) &&
        !info_.video) {
      VideoStreamInfo v;
      v.index = static_cast<int>(i);
      v.codec = avcodec_get_name(par->codec_id);
      v.width = par->width;
      v.height = par->height;
      AVRational r = st->avg_frame_rate.num > 0 && st->avg_frame_rate.den > 0 ? st->avg_frame_rate : st->r_frame_rate;
      if (r.num > 0 && r.den > 0) v.frame_rate = Rate{r.num, r.den};
      v.frame_count = std::max<int64_t>(st->nb_frames, 0);
      v.duration_seconds = dur;
      info_.video = v;
    } else if (par->codec_type == AVMEDIA_TYPE_AUDIO) {
      AudioStreamInfo a;
      a.index = static_cast<int>(i);
      a.codec = avcodec_get_name(par->codec_id);
      a.sample_rate = par->sample_rate;
      a.channels = par->ch_layout.nb_channels;
      a.duration_seconds = dur;
      if (a.sample_rate < 0 || a.sample_rate > kMaxSampleRate)
        fail("audio stream " + std::to_string(i) + " declares a sample rate of " + std::to_string(a.sample_rate) +
             " Hz, outside (0, " + std::to_string(kMaxSampleRate) + "]");
      if (a.channels < 0 || a.channels > kMaxChannels)
        fail("audio stream " + std::to_string(i) + " declares " + std::to_string(a.channels) +
             " channels, more than " + std::to_string(kMaxChannels));
      info_.audio.push_back(a);
    }
  }
}

int Input::video_stream() const {
  if (!info_.video) {
    if (!info_.audio.empty()) fail("has no video stream (it is audio only); visual features need one");
    fail("has no video stream");
  }
  return info_.video->index;
}

int Input::audio_stream(int k) const {
  if (info_.audio.empty()) fail("has no audio stream; audio features (mfcc) need one");
  if (k < 0) return info_.audio.front().index;
  if (k >= static_cast<int>(info_.audio.size()))
    fail("has " + std::to_string(info_.audio.size()) + " audio stream(s); audio stream " + std::to_string(k) +
         " (0-based) was asked for");
  return info_.audio[static_cast<size_t>(k)].index;
}

CodecContextPtr Input::open_decoder(int index) const {
  const AVStream* st = ctx_->streams[index];
  const char* kind = st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO ? "video" : "audio";
  const std::string codec_name = avcodec_get_name(st->codecpar->codec_id);
  const AVCodec* codec = avcodec_find_decoder(st->codecpar->codec_id);
  if (!codec)
    fail("its " + std::string(kind) + " stream is " + codec_name + ", which this FFmpeg build cannot decode");
  CodecContextPtr dec(avcodec_alloc_context3(codec));
  if (!dec) throw Error("out of memory allocating an AVCodecContext");
  int ret = avcodec_parameters_to_context(dec.get(), st->codecpar);
  if (ret < 0) fail("bad " + std::string(kind) + " codec parameters (" + av_error_text(ret) + ")");
  dec->pkt_timebase = st->time_base;
  dec->max_pixels = limits_.max_pixels;
  dec->thread_count = std::max(0, limits_.decoder_threads);
  ret = avcodec_open2(dec.get(), codec, nullptr);
  if (ret < 0)
    fail("cannot open the " + codec_name + " " + kind + " decoder (FFmpeg: " + av_error_text(ret) + ")");
  return dec;
}

bool Input::read(AVPacket* packet) {
  check_deadline();
  const int ret = av_read_frame(ctx_, packet);
  if (ret == AVERROR_EOF) return false;
  if (ret < 0) {
    check_deadline();
    fail("is truncated or damaged: reading failed (FFmpeg: " + av_error_text(ret) + ")");
  }
  return true;
}

void Input::check_complete(int index) const {
  AVStream* st = ctx_->streams[index];
  const int n = avformat_index_get_entries_count(st);
  const int64_t size = avio_size(ctx_->pb);
  if (n <= 0 || size <= 0) return;
  const AVIndexEntry* last = avformat_index_get_entry(st, n - 1);
  if (last && last->pos >= 0 && last->pos + std::max(last->size, 0) > size)
    fail("is truncated: its index refers to data up to byte " + std::to_string(last->pos + std::max(last->size, 0)) +
         " but the file ends at byte " + std::to_string(size));
}

}  // namespace hl::media::detail
