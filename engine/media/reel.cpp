// The highlight reel: see reel.h. One pass over the source (stopping after the last cut):
// decoded video frames inside a cut are converted to yuv420p and encoded by libx264 with
// timestamps closed up across the cuts; decoded audio is resampled to float planar and
// the samples of each cut go through a FIFO to the native AAC encoder in its frame size.
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
}

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "engine/media/input.h"
#include "engine/media/reel.h"

namespace hl::media {
namespace {

using detail::CodecContextPtr;
using detail::FramePtr;
using detail::PacketPtr;

struct SwsDeleter {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};
struct SwrDeleter {
  void operator()(SwrContext* s) const { swr_free(&s); }
};
struct FifoDeleter {
  void operator()(AVAudioFifo* f) const { av_audio_fifo_free(f); }
};
struct OutputDeleter {  // closes the file (if open) and frees the muxer
  void operator()(AVFormatContext* c) const {
    if (c->pb) avio_closep(&c->pb);
    avformat_free_context(c);
  }
};

// One cut in frames of the rate and in samples of the output audio rate.
struct CutRange {
  int64_t first_frame, end_frame;    // [first, end) at the rate
  int64_t first_sample, end_sample;  // [first, end) of the source audio's timeline
};

class ReelWriter {
 public:
  ReelWriter(const std::string& video, const std::vector<ReelCut>& cuts, const std::string& out,
             const ReelOptions& o)
      : in_(video, o.limits), out_path_(out), opt_(o) {
    vs_ = in_.video_stream();
    AVStream* st = in_.ctx()->streams[vs_];
    rate_ = o.rate;
    if (rate_.num <= 0 || rate_.den <= 0) rate_ = in_.info().video->frame_rate;
    if (rate_.num <= 0 || rate_.den <= 0) in_.fail("has no known frame rate; a reel needs one to place its cuts");
    vtb_ = st->time_base;
    pts0_ = st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;
    vdec_ = in_.open_decoder(vs_);
    if (!in_.info().audio.empty()) {
      as_ = in_.audio_stream(-1);
      atb_ = in_.ctx()->streams[as_]->time_base;
      adec_ = in_.open_decoder(as_);
    }
    open_output();
    for (const ReelCut& c : cuts) {
      if (!(c.end_seconds > c.start_seconds) || c.start_seconds < 0)
        throw Error(out_path_ + ": a reel cut must have 0 <= start < end, got " + std::to_string(c.start_seconds) +
                    ".." + std::to_string(c.end_seconds));
      CutRange r{};
      r.first_frame = frame_at(c.start_seconds);
      r.end_frame = frame_at(c.end_seconds);
      // The audio of exactly those frames' time, so sound and picture stay together.
      r.first_sample = sample_at(r.first_frame);
      r.end_sample = sample_at(r.end_frame);
      if (!cuts_.empty() && r.first_frame < cuts_.back().end_frame)
        throw Error(out_path_ + ": reel cuts must be in time order and must not overlap");
      if (r.end_frame > r.first_frame) cuts_.push_back(r);
    }
  }

  ReelResult run() {
    PacketPtr pkt = detail::make_packet();
    FramePtr frame = detail::make_frame();
    while (!done() && in_.read(pkt.get())) {
      const int index = pkt->stream_index;
      // A stream whose part of the reel is complete is no longer decoded.
      if (index == vs_ && !video_done_) decode(vdec_.get(), pkt.get(), frame.get(), true);
      else if (index == as_ && !audio_done()) decode(adec_.get(), pkt.get(), frame.get(), false);
      av_packet_unref(pkt.get());
    }
    if (!video_done_) decode(vdec_.get(), nullptr, frame.get(), true);
    if (adec_ && !audio_done()) decode(adec_.get(), nullptr, frame.get(), false);
    if (adec_) {
      // Audio that ended early: silence to the end of the cuts (the reel keeps its length).
      if (!cuts_.empty() && next_sample_ < cuts_.back().end_sample) add_audio(nullptr, next_sample_, cuts_.back().end_sample - next_sample_);
      drain_fifo(true);
      encode(aenc_.get(), ast_, nullptr);
    }
    encode(venc_.get(), vst_, nullptr);
    check(av_write_trailer(out_.get()), "cannot finish");
    check(avio_closep(&out_->pb), "cannot close");
    ReelResult r;
    r.video_frames = frames_out_;
    r.audio_samples = samples_out_;
    r.audio_sample_rate = aenc_ ? aenc_->sample_rate : 0;
    r.seconds = static_cast<double>(frames_out_) * static_cast<double>(rate_.den) / static_cast<double>(rate_.num);
    if (frames_out_ == 0) throw FormatError(in_.path(), "has no video frames in the reel's cuts");
    return r;
  }

 private:
  int64_t frame_at(double seconds) const {  // round(t · rate), a half up (tools/edl.h)
    return static_cast<int64_t>(std::floor(seconds * rate_.value() + 0.5 + 1e-9));
  }
  int64_t sample_at(int64_t frame) const {
    const int sr = aenc_ ? aenc_->sample_rate : 0;
    return av_rescale_rnd(frame, static_cast<int64_t>(sr) * rate_.den, rate_.num, AV_ROUND_NEAR_INF);
  }
  bool audio_done() const { return !adec_ || cuts_.empty() || next_sample_ >= cuts_.back().end_sample; }
  bool done() const { return video_done_ && audio_done(); }

  void check(int ret, const char* what) const {
    if (ret < 0) throw Error(out_path_ + ": " + what + " the reel (FFmpeg: " + detail::av_error_text(ret) + ")");
  }

  void open_output() {
    AVFormatContext* out = nullptr;
    check(avformat_alloc_output_context2(&out, nullptr, "mp4", out_path_.c_str()), "cannot start");
    out_.reset(out);
    const AVCodec* h264 = avcodec_find_encoder_by_name("libx264");
    if (!h264) throw Error(out_path_ + ": this FFmpeg has no libx264 encoder, which the reel needs (Debian's has)");
    venc_.reset(avcodec_alloc_context3(h264));
    // libx264's yuv420p needs even sizes: an odd row or column is dropped by the scaler.
    venc_->width = std::max(2, vdec_->width / 2 * 2);
    venc_->height = std::max(2, vdec_->height / 2 * 2);
    venc_->pix_fmt = AV_PIX_FMT_YUV420P;
    venc_->time_base = vtb_;  // the source's clock: VFR frames keep their spacing
    venc_->framerate = {static_cast<int>(rate_.num), static_cast<int>(rate_.den)};
    venc_->sample_aspect_ratio = vdec_->sample_aspect_ratio;
    venc_->color_range = AVCOL_RANGE_MPEG;
    if (out_->oformat->flags & AVFMT_GLOBALHEADER) venc_->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    av_opt_set(venc_->priv_data, "crf", std::to_string(opt_.crf).c_str(), 0);
    av_opt_set(venc_->priv_data, "preset", opt_.preset.c_str(), 0);
    check(avcodec_open2(venc_.get(), h264, nullptr), "cannot open the H.264 encoder for");
    vst_ = avformat_new_stream(out_.get(), nullptr);
    if (!vst_) throw Error(out_path_ + ": out of memory");
    check(avcodec_parameters_from_context(vst_->codecpar, venc_.get()), "cannot describe the video of");
    vst_->time_base = venc_->time_base;
    vst_->avg_frame_rate = venc_->framerate;
    vst_->sample_aspect_ratio = venc_->sample_aspect_ratio;

    if (adec_) {
      const AVCodec* aac = avcodec_find_encoder_by_name("aac");
      if (!aac) throw Error(out_path_ + ": this FFmpeg has no native aac encoder, which the reel needs");
      aenc_.reset(avcodec_alloc_context3(aac));
      int sr = adec_->sample_rate > 0 ? adec_->sample_rate : 48000;
      bool supported = false;
      for (const int* r = aac->supported_samplerates; r && *r; ++r) supported |= (*r == sr);
      if (!supported) sr = 48000;
      aenc_->sample_rate = sr;
      aenc_->sample_fmt = AV_SAMPLE_FMT_FLTP;
      av_channel_layout_default(&aenc_->ch_layout, std::min(2, std::max(1, adec_->ch_layout.nb_channels)));
      aenc_->bit_rate = opt_.audio_bit_rate;
      aenc_->time_base = {1, sr};
      if (out_->oformat->flags & AVFMT_GLOBALHEADER) aenc_->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
      check(avcodec_open2(aenc_.get(), aac, nullptr), "cannot open the AAC encoder for");
      ast_ = avformat_new_stream(out_.get(), nullptr);
      if (!ast_) throw Error(out_path_ + ": out of memory");
      check(avcodec_parameters_from_context(ast_->codecpar, aenc_.get()), "cannot describe the audio of");
      ast_->time_base = aenc_->time_base;
      fifo_.reset(av_audio_fifo_alloc(AV_SAMPLE_FMT_FLTP, aenc_->ch_layout.nb_channels, std::max(1, aenc_->frame_size)));
      if (!fifo_) throw Error(out_path_ + ": out of memory");
      AVChannelLayout in_layout{};
      if (adec_->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC || adec_->ch_layout.nb_channels == 0)
        av_channel_layout_default(&in_layout, std::max(1, adec_->ch_layout.nb_channels));
      else
        check(av_channel_layout_copy(&in_layout, &adec_->ch_layout), "cannot set up the audio of");
      SwrContext* swr = nullptr;
      const int ret = swr_alloc_set_opts2(&swr, &aenc_->ch_layout, AV_SAMPLE_FMT_FLTP, sr, &in_layout,
                                          adec_->sample_fmt, adec_->sample_rate, 0, nullptr);
      av_channel_layout_uninit(&in_layout);
      check(ret, "cannot set up the resampler for");
      swr_.reset(swr);
      check(swr_init(swr_.get()), "cannot set up the resampler for");
    }
    check(avio_open(&out_->pb, out_path_.c_str(), AVIO_FLAG_WRITE), "cannot write");
    AVDictionary* mux = nullptr;
    av_dict_set(&mux, "movflags", "+faststart", 0);  // playable while it downloads (the report links it)
    const int ret = avformat_write_header(out_.get(), &mux);
    av_dict_free(&mux);
    check(ret, "cannot write the header of");
  }

  void decode(AVCodecContext* dec, const AVPacket* pkt, AVFrame* frame, bool video) {
    int ret = avcodec_send_packet(dec, pkt);
    if (ret < 0 && ret != AVERROR(EAGAIN) && ret != AVERROR_EOF) {
      if (ret == AVERROR(ENOMEM)) throw Error("out of memory decoding " + in_.path());
      return;  // a damaged packet: the decoder resynchronises (engine/media counts these for features)
    }
    for (;;) {
      in_.check_deadline();
      ret = avcodec_receive_frame(dec, frame);
      if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return;
      if (ret < 0) return;
      if (video) on_video(frame);
      else on_audio(frame);
      av_frame_unref(frame);
    }
  }

  void on_video(AVFrame* f) {
    if (video_done_ || cuts_.empty()) {
      video_done_ = true;
      return;
    }
    int64_t pts = f->best_effort_timestamp;
    if (pts == AV_NOPTS_VALUE) pts = last_src_pts_ == AV_NOPTS_VALUE ? pts0_ : last_src_pts_ + 1;
    last_src_pts_ = pts;
    // The frame's number at the rate (its time rounded to the nearest frame).
    const AVRational frame_tb{static_cast<int>(rate_.den), static_cast<int>(rate_.num)};
    const int64_t index = av_rescale_q_rnd(pts - pts0_, vtb_, frame_tb, AV_ROUND_NEAR_INF);
    while (cut_v_ < cuts_.size() && index >= cuts_[cut_v_].end_frame) {
      frames_before_ += cuts_[cut_v_].end_frame - cuts_[cut_v_].first_frame;
      ++cut_v_;
    }
    if (cut_v_ == cuts_.size()) {
      video_done_ = true;
      return;
    }
    const CutRange& c = cuts_[cut_v_];
    if (index < c.first_frame) return;
    // Closed up: the cut's first frame lands where the earlier cuts' frames end.
    int64_t out_pts = av_rescale_q(frames_before_, frame_tb, vtb_) + (pts - pts0_) -
                      av_rescale_q(c.first_frame, frame_tb, vtb_);
    if (last_out_pts_ != AV_NOPTS_VALUE && out_pts <= last_out_pts_) out_pts = last_out_pts_ + 1;
    last_out_pts_ = out_pts;

    FramePtr yuv = detail::make_frame();
    yuv->format = AV_PIX_FMT_YUV420P;
    yuv->width = venc_->width;
    yuv->height = venc_->height;
    check(av_frame_get_buffer(yuv.get(), 0), "out of memory for");
    sws_.reset(sws_getCachedContext(sws_.release(), f->width, f->height, static_cast<AVPixelFormat>(f->format),
                                    yuv->width, yuv->height, AV_PIX_FMT_YUV420P, SWS_BICUBIC | SWS_ACCURATE_RND,
                                    nullptr, nullptr, nullptr));
    if (!sws_) throw FormatError(in_.path(), "has a video frame the scaler cannot convert");
    sws_scale(sws_.get(), f->data, f->linesize, 0, f->height, yuv->data, yuv->linesize);
    yuv->pts = out_pts;
    encode(venc_.get(), vst_, yuv.get());
    ++frames_out_;
  }

  void on_audio(AVFrame* f) {
    if (audio_done()) return;
    if (!have_audio_start_) {
      // Where the first sample sits on the video's timeline (AAC priming is already cut by
      // the decoder's skip_samples); later frames are taken as contiguous.
      const int64_t pts = f->best_effort_timestamp == AV_NOPTS_VALUE ? 0 : f->best_effort_timestamp;
      const double seconds = static_cast<double>(pts) * av_q2d(atb_) - static_cast<double>(pts0_) * av_q2d(vtb_);
      next_sample_ = static_cast<int64_t>(std::llround(seconds * aenc_->sample_rate));
      have_audio_start_ = true;
      if (next_sample_ > 0) add_audio(nullptr, 0, next_sample_);  // audio starting late: silence before it
    }
    const int max_out = swr_get_out_samples(swr_.get(), f->nb_samples);
    if (max_out <= 0) return;
    float* planes[2] = {nullptr, nullptr};
    buffer_.resize(static_cast<size_t>(max_out) * 2);
    planes[0] = buffer_.data();
    planes[1] = buffer_.data() + max_out;
    const int n = swr_convert(swr_.get(), reinterpret_cast<uint8_t**>(planes), max_out,
                              const_cast<const uint8_t**>(f->extended_data), f->nb_samples);
    if (n < 0) throw FormatError(in_.path(), "has audio the resampler cannot convert");
    add_audio(planes, next_sample_, n);
    next_sample_ += n;
  }

  // Samples [pos, pos + n) of the source timeline (nullptr: silence): the parts inside a
  // cut go to the encoder.
  void add_audio(float* const* planes, int64_t pos, int64_t n) {
    for (const CutRange& c : cuts_) {
      const int64_t a = std::max(pos, c.first_sample), b = std::min(pos + n, c.end_sample);
      if (a >= b) continue;
      const int channels = aenc_->ch_layout.nb_channels;
      const int count = static_cast<int>(b - a);
      std::vector<float> zeros;
      void* data[2];
      if (planes) {
        for (int ch = 0; ch < channels; ++ch) data[ch] = planes[ch] + (a - pos);
      } else {
        zeros.assign(static_cast<size_t>(count), 0.0f);
        for (int ch = 0; ch < channels; ++ch) data[ch] = zeros.data();
      }
      if (av_audio_fifo_write(fifo_.get(), data, count) < count) throw Error(out_path_ + ": out of memory");
      drain_fifo(false);
    }
  }

  void drain_fifo(bool all) {
    const int size = aenc_->frame_size > 0 ? aenc_->frame_size : 1024;
    while (av_audio_fifo_size(fifo_.get()) >= size || (all && av_audio_fifo_size(fifo_.get()) > 0)) {
      const int n = std::min(size, av_audio_fifo_size(fifo_.get()));
      FramePtr frame = detail::make_frame();
      frame->nb_samples = n;
      frame->format = AV_SAMPLE_FMT_FLTP;
      frame->sample_rate = aenc_->sample_rate;
      check(av_channel_layout_copy(&frame->ch_layout, &aenc_->ch_layout), "out of memory for");
      check(av_frame_get_buffer(frame.get(), 0), "out of memory for");
      if (av_audio_fifo_read(fifo_.get(), reinterpret_cast<void**>(frame->data), n) < n)
        throw Error(out_path_ + ": the audio FIFO lost samples");
      frame->pts = samples_out_;
      samples_out_ += n;
      encode(aenc_.get(), ast_, frame.get());
    }
  }

  void encode(AVCodecContext* enc, AVStream* st, const AVFrame* frame) {
    check(avcodec_send_frame(enc, frame), "cannot encode");
    PacketPtr pkt = detail::make_packet();
    for (;;) {
      const int ret = avcodec_receive_packet(enc, pkt.get());
      if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return;
      check(ret, "cannot encode");
      av_packet_rescale_ts(pkt.get(), enc->time_base, st->time_base);
      pkt->stream_index = st->index;
      check(av_interleaved_write_frame(out_.get(), pkt.get()), "cannot write");
    }
  }

  detail::Input in_;
  std::string out_path_;
  ReelOptions opt_;
  Rate rate_;
  int vs_ = -1, as_ = -1;
  AVRational vtb_{1, 1}, atb_{1, 1};
  int64_t pts0_ = 0;
  CodecContextPtr vdec_, adec_, venc_, aenc_;
  std::unique_ptr<AVFormatContext, OutputDeleter> out_;
  AVStream* vst_ = nullptr;
  AVStream* ast_ = nullptr;
  std::unique_ptr<SwsContext, SwsDeleter> sws_;
  std::unique_ptr<SwrContext, SwrDeleter> swr_;
  std::unique_ptr<AVAudioFifo, FifoDeleter> fifo_;
  std::vector<float> buffer_;
  std::vector<CutRange> cuts_;
  size_t cut_v_ = 0;
  int64_t frames_before_ = 0, frames_out_ = 0, samples_out_ = 0;
  int64_t last_src_pts_ = AV_NOPTS_VALUE, last_out_pts_ = AV_NOPTS_VALUE;
  int64_t next_sample_ = 0;
  bool have_audio_start_ = false;
  bool video_done_ = false;
};

}  // namespace

ReelResult write_reel(const std::string& video, const std::vector<ReelCut>& cuts, const std::string& out_path,
                      const ReelOptions& options) {
  detail::install_log_callback();
  if (cuts.empty()) throw Error(out_path + ": a reel needs at least one cut");
  try {
    ReelWriter writer(video, cuts, out_path, options);
    return writer.run();
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove(out_path, ec);  // no partial reel
    throw;
  }
}

}  // namespace hl::media
