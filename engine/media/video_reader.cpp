// VideoReader: a decoding thread that picks frames for the output ticks by presentation
// timestamp and converts them to RGB24, handing them over through a bounded queue.
extern "C" {
#include <libavutil/pixdesc.h>
}

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/media/input.h"
#include "engine/media/media.h"
#include "engine/media/scaler.h"

namespace hl::media {

using detail::FramePtr;
using detail::Input;

namespace {
// Thrown inside the decoding thread when the reader is being destroyed.
struct Stopped {};
}  // namespace

struct VideoReader::Impl {
  VideoOptions opt;
  std::atomic<bool> stop{false};
  std::unique_ptr<Input> input;
  int stream = -1;
  detail::CodecContextPtr dec;
  detail::RgbScaler scaler;
  double start_seconds = 0;

  std::mutex mutex;
  std::condition_variable not_empty;
  std::condition_variable not_full;
  std::deque<VideoFrame> queue;
  bool done = false;
  std::exception_ptr error;
  std::thread thread;

  // Decoding state (decoding thread only).
  std::vector<Tensor> pool;  // buffers handed out before; reused once the consumer lets go
  FramePtr held = detail::make_frame();  // the latest decoded frame
  bool have_frame = false;
  bool held_converted = false;
  Tensor held_rgb;  // held frame converted (private: consumers get copies)
  int64_t held_index = -1;
  int64_t held_pts = 0;
  int64_t held_duration = 0;
  int64_t pts0 = 0;
  int64_t decoded = 0;
  int64_t tick = 0;
  int64_t max_ticks = 0;
  bool two_rates = false;  // VideoOptions::second_rate given
  int64_t tick2 = 0;       // the second rate's next tick
  int64_t max_ticks2 = 0;
  int bad_packets = 0;
  bool finished = false;  // a still image has given its frame

  explicit Impl(VideoOptions o) : opt(std::move(o)), scaler(opt.scale_flags) {}

  void run();
  void decode();
  void receive_all();
  void on_frame(AVFrame* f);
  bool tick_before(int64_t pts) const { return tick_before(pts, tick, opt.rate); }
  bool tick_before(int64_t pts, int64_t n, Rate rate) const;
  void emit() { emit_group(1, 0); }
  void emit_group(int64_t ticks, int64_t second_ticks);
  int64_t ticks_before(int64_t pts, int64_t from, Rate rate, int64_t max) const;
  void emit_before(int64_t pts);
  Tensor buffer(int64_t h, int64_t w);
  void push(VideoFrame&& f);
  int64_t default_duration() const;
};

VideoReader::VideoReader(const std::string& path, VideoOptions options) : impl_(std::make_unique<Impl>(options)) {
  Impl& m = *impl_;
  const VideoOptions& o = m.opt;
  if (o.rate.num <= 0 || o.rate.den <= 0)
    throw Error("VideoOptions::rate must be positive, got " + std::to_string(o.rate.num) + "/" +
                std::to_string(o.rate.den));
  if (o.width < 0 || o.height < 0 || (o.width == 0) != (o.height == 0))
    throw Error("VideoOptions: width and height must both be 0 (native size) or both positive, got " +
                std::to_string(o.width) + "x" + std::to_string(o.height));
  if (static_cast<int64_t>(o.width) * o.height > o.limits.max_pixels)
    throw Error("VideoOptions: the output size " + std::to_string(o.width) + "x" + std::to_string(o.height) +
                " is above the pixel cap (Limits::max_pixels)");
  if (o.queue_frames < 1) throw Error("VideoOptions::queue_frames must be at least 1");
  m.max_ticks = static_cast<int64_t>(o.limits.max_video_seconds * static_cast<double>(o.rate.num) /
                                     static_cast<double>(o.rate.den));
  m.two_rates = o.second_rate.num != 0;
  if (m.two_rates && (o.second_rate.num < 0 || o.second_rate.den <= 0))
    throw Error("VideoOptions::second_rate must be positive (or 0/1 for none), got " +
                std::to_string(o.second_rate.num) + "/" + std::to_string(o.second_rate.den));
  if (m.two_rates)
    m.max_ticks2 = static_cast<int64_t>(o.limits.max_video_seconds * static_cast<double>(o.second_rate.num) /
                                        static_cast<double>(o.second_rate.den));
  m.input = std::make_unique<Input>(path, o.limits, &m.stop);
  m.stream = m.input->video_stream();
  m.dec = m.input->open_decoder(m.stream);
  m.thread = std::thread([&m] { m.run(); });
}

VideoReader::~VideoReader() {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->stop = true;
  }
  impl_->not_full.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

const MediaInfo& VideoReader::info() const { return impl_->input->info(); }

double VideoReader::start_seconds() const { return impl_->start_seconds; }

bool VideoReader::next(VideoFrame* out) {
  Impl& m = *impl_;
  std::unique_lock<std::mutex> lock(m.mutex);
  m.not_empty.wait(lock, [&] { return !m.queue.empty() || m.done; });
  if (!m.queue.empty()) {
    *out = std::move(m.queue.front());
    m.queue.pop_front();
    lock.unlock();
    m.not_full.notify_one();
    return true;
  }
  if (m.error) std::rethrow_exception(m.error);
  return false;
}

void VideoReader::Impl::run() {
  try {
    decode();
  } catch (const Stopped&) {
  } catch (...) {
    if (!stop) error = std::current_exception();
  }
  {
    std::lock_guard<std::mutex> lock(mutex);
    done = true;
  }
  not_empty.notify_all();
}

// The frame duration used when the decoder gives none: one frame at the stream's average
// rate (else its base rate), in stream time-base units; 0 when unknown.
int64_t VideoReader::Impl::default_duration() const {
  const AVStream* st = input->ctx()->streams[stream];
  AVRational r = st->avg_frame_rate.num > 0 && st->avg_frame_rate.den > 0 ? st->avg_frame_rate : st->r_frame_rate;
  if (r.num <= 0 || r.den <= 0) return 0;
  return std::max<int64_t>(1, av_rescale_q(1, av_inv_q(r), st->time_base));
}

void VideoReader::Impl::decode() {
  detail::PacketPtr pkt = detail::make_packet();
  const int max_bad = std::max(1, opt.limits.max_bad_packets);
  while (!finished && input->read(pkt.get())) {
    if (pkt->stream_index != stream) {
      av_packet_unref(pkt.get());
      continue;
    }
    const bool corrupt = (pkt->flags & AV_PKT_FLAG_CORRUPT) != 0;
    const int ret = avcodec_send_packet(dec.get(), pkt.get());
    av_packet_unref(pkt.get());
    if (ret == AVERROR(ENOMEM)) throw Error("out of memory decoding " + input->path());
    if (ret < 0 || corrupt) {
      if (++bad_packets > max_bad)
        input->fail("is damaged: " + std::to_string(bad_packets) +
                    " consecutive video packets could not be decoded (Limits::max_bad_packets)" +
                    (ret < 0 ? " (FFmpeg: " + detail::av_error_text(ret) + ")" : std::string()));
    }
    receive_all();
  }
  if (!finished) {
    input->check_complete(stream);
    avcodec_send_packet(dec.get(), nullptr);  // drain
    receive_all();
  }
  if (!have_frame) input->fail("has a video stream but no frame of it could be decoded (truncated or damaged)");
  if (!finished) {
    const int64_t end = held_pts + held_duration;  // the end of the last frame
    if (!two_rates) {
      while (tick_before(end)) emit();
      if (tick == 0) emit();
    } else {  // the same rule for each rate: ticks before the end, and at least one
      int64_t n1 = ticks_before(end, tick, opt.rate, max_ticks);
      int64_t n2 = ticks_before(end, tick2, opt.second_rate, max_ticks2);
      if (tick + n1 == 0) n1 = 1;
      if (tick2 + n2 == 0) n2 = 1;
      if (n1 + n2 > 0) emit_group(n1, n2);
    }
  }
}

void VideoReader::Impl::receive_all() {
  FramePtr frame = detail::make_frame();
  while (!finished) {
    input->check_deadline();
    const int ret = avcodec_receive_frame(dec.get(), frame.get());
    if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return;
    if (ret < 0) {
      if (++bad_packets > std::max(1, opt.limits.max_bad_packets))
        input->fail("is damaged: the video decoder failed " + std::to_string(bad_packets) +
                    " times in a row (FFmpeg: " + detail::av_error_text(ret) + ")");
      return;
    }
    bad_packets = 0;
    on_frame(frame.get());
    av_frame_unref(frame.get());
  }
}

// Whether tick n's time at `rate` is before `pts`: (pts - pts0) * tb > n / rate, in
// exact integer arithmetic.
bool VideoReader::Impl::tick_before(int64_t pts, int64_t n, Rate rate) const {
  const AVRational tb = input->ctx()->streams[stream]->time_base;
  const __int128 lhs = static_cast<__int128>(pts - pts0) * tb.num * rate.num;
  const __int128 rhs = static_cast<__int128>(n) * rate.den * tb.den;
  return lhs > rhs;
}

// How many ticks from `from` on are before `pts` (stops one past `max`: emit_group
// then refuses the file, as a one-rate reader does at its cap).
int64_t VideoReader::Impl::ticks_before(int64_t pts, int64_t from, Rate rate, int64_t max) const {
  int64_t n = 0;
  while (from + n <= max && tick_before(pts, from + n, rate)) ++n;
  return n;
}

// The held frame for every tick (of either rate) before `pts`.
void VideoReader::Impl::emit_before(int64_t pts) {
  if (!two_rates) {
    while (tick_before(pts)) emit();
    return;
  }
  const int64_t n1 = ticks_before(pts, tick, opt.rate, max_ticks);
  const int64_t n2 = ticks_before(pts, tick2, opt.second_rate, max_ticks2);
  if (n1 + n2 > 0) emit_group(n1, n2);
}

void VideoReader::Impl::on_frame(AVFrame* f) {
  int64_t pts = f->best_effort_timestamp;
  if (pts == AV_NOPTS_VALUE) pts = have_frame ? held_pts + held_duration : 0;
  int64_t duration = f->pkt_duration > 0 ? f->pkt_duration : default_duration();
  if (duration <= 0 && have_frame) duration = std::max<int64_t>(0, pts - held_pts);
  if (!have_frame) {
    pts0 = pts;
    start_seconds = detail::to_seconds(pts, input->ctx()->streams[stream]->time_base);
  } else {
    emit_before(pts);
  }
  av_frame_unref(held.get());
  av_frame_move_ref(held.get(), f);
  have_frame = true;
  held_converted = false;
  held_index = decoded++;
  held_pts = pts;
  held_duration = duration;
  if (input->info().is_image) {  // a still image is one frame, whatever its timestamps
    emit_group(1, two_rates ? 1 : 0);
    finished = true;
  }
}

Tensor VideoReader::Impl::buffer(int64_t h, int64_t w) {
  const Shape shape{h, w, 3};
  for (Tensor& t : pool) {
    if (t.storage().use_count() != 1) continue;  // the consumer still has it
    if (!(t.shape() == shape)) t = Tensor::empty_pinned(shape, DType::U8);
    return t;
  }
  Tensor t = Tensor::empty_pinned(shape, DType::U8);
  if (pool.size() < static_cast<size_t>(opt.queue_frames) + 4) pool.push_back(t);
  return t;
}

// The held frame for `ticks` ticks of the rate and `second_ticks` of the second rate.
void VideoReader::Impl::emit_group(int64_t ticks, int64_t second_ticks) {
  if (tick + ticks > max_ticks)
    input->fail("would give more than " + std::to_string(max_ticks) + " frames at " + std::to_string(opt.rate.num) +
                "/" + std::to_string(opt.rate.den) +
                " fps (Limits::max_video_seconds); its timestamps may be damaged");
  if (tick2 + second_ticks > max_ticks2 && second_ticks > 0)
    input->fail("would give more than " + std::to_string(max_ticks2) + " frames at " +
                std::to_string(opt.second_rate.num) + "/" + std::to_string(opt.second_rate.den) +
                " fps (Limits::max_video_seconds); its timestamps may be damaged");
  const AVFrame* f = held.get();
  const int out_w = opt.width > 0 ? opt.width : f->width;
  const int out_h = opt.height > 0 ? opt.height : f->height;
  if (!held_converted) {
    if (f->width <= 0 || f->height <= 0 || static_cast<int64_t>(f->width) * f->height > opt.limits.max_pixels)
      input->fail("has a frame of " + std::to_string(f->width) + "x" + std::to_string(f->height) +
                  " pixels, outside the cap (Limits::max_pixels)");
    held_rgb = Tensor::empty({out_h, out_w, 3}, DType::U8);
    if (!scaler.convert(f, out_w, out_h, held_rgb.data<uint8_t>()))
      input->fail(std::string("has frames in pixel format ") +
                  (av_get_pix_fmt_name(static_cast<AVPixelFormat>(f->format))
                       ? av_get_pix_fmt_name(static_cast<AVPixelFormat>(f->format))
                       : "unknown") +
                  ", which libswscale cannot convert");
    held_converted = true;
  }
  VideoFrame out;
  out.rgb = buffer(out_h, out_w);
  std::memcpy(out.rgb.raw(), held_rgb.raw(), held_rgb.nbytes());
  out.index = tick;
  out.time_seconds = static_cast<double>(tick) * static_cast<double>(opt.rate.den) / static_cast<double>(opt.rate.num);
  out.source_seconds = detail::to_seconds(held_pts - pts0, input->ctx()->streams[stream]->time_base);
  out.source_index = held_index;
  out.ticks = ticks;
  out.second_index = tick2;
  out.second_ticks = second_ticks;
  tick += ticks;
  tick2 += second_ticks;
  push(std::move(out));
}

void VideoReader::Impl::push(VideoFrame&& f) {
  std::unique_lock<std::mutex> lock(mutex);
  if (queue.size() >= static_cast<size_t>(opt.queue_frames)) {
    const auto t0 = std::chrono::steady_clock::now();
    not_full.wait(lock, [&] { return queue.size() < static_cast<size_t>(opt.queue_frames) || stop; });
    input->extend_deadline(std::chrono::steady_clock::now() - t0);  // waiting for the consumer is free
  }
  if (stop) throw Stopped{};
  queue.push_back(std::move(f));
  lock.unlock();
  not_empty.notify_one();
}

}  // namespace hl::media
