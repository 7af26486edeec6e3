// decode_audio: one audio stream decoded whole and resampled with libswresample.
extern "C" {
#include <libavutil/channel_layout.h>
#include <libavutil/samplefmt.h>
#include <libswresample/swresample.h>
}

#include <algorithm>
#include <cstring>
#include <vector>

#include "engine/media/input.h"
#include "engine/media/media.h"

namespace hl::media {
namespace {

struct SwrDeleter {
  void operator()(SwrContext* s) const { swr_free(&s); }
};
using SwrPtr = std::unique_ptr<SwrContext, SwrDeleter>;

struct Layout {
  AVChannelLayout layout{};
  Layout() = default;
  ~Layout() { av_channel_layout_uninit(&layout); }
  Layout(const Layout&) = delete;
  Layout& operator=(const Layout&) = delete;
};

constexpr int kMaxRate = 768000;
constexpr int kMaxChannels = 64;

class Resampler {
 public:
  Resampler(detail::Input& input, const AudioOptions& o) : input_(input), opt_(o), planes_(o.channels) {
    av_channel_layout_default(&out_.layout, o.channels);
  }

  void add(const AVFrame* f) {
    if (f->nb_samples <= 0) return;
    if (!swr_) init(f);
    else if (f->format != in_format_ || f->sample_rate != in_rate_ || f->ch_layout.nb_channels != in_channels_)
      input_.fail("changes its audio format in the middle of the stream, which is not supported");
    in_samples_ += f->nb_samples;
    if (static_cast<double>(in_samples_) > opt_.limits.max_audio_seconds * in_rate_)
      input_.fail("has more audio than the cap of " + detail::format_seconds(opt_.limits.max_audio_seconds) +
                  " s (Limits::max_audio_seconds)");
    convert(const_cast<const uint8_t**>(f->extended_data), f->nb_samples);
  }

  void flush() {
    if (!swr_) return;
    for (;;) {
      if (convert(nullptr, 0) == 0) break;
    }
  }

  Audio result(int stream_index, double start) {
    Audio a;
    a.sample_rate = opt_.sample_rate;
    a.channels = opt_.channels;
    a.stream_index = stream_index;
    a.start_seconds = start;
    a.samples = Tensor::empty({opt_.channels, count_}, DType::F32);
    float* dst = a.samples.data<float>();
    // No samples (a stream whose frames were all empty): nothing to copy, and the empty
    // planes' data() may be null, which memcpy must not get even for 0 bytes (UBSan
    // finding of tests/fuzz/fuzz_media.cpp, corpus file finding_audio_without_samples).
    if (count_ > 0)
      for (int c = 0; c < opt_.channels; ++c)
        std::memcpy(dst + static_cast<size_t>(c) * count_, planes_[c].data(), sizeof(float) * count_);
    return a;
  }

 private:
  void init(const AVFrame* f) {
    in_format_ = f->format;
    in_rate_ = f->sample_rate;
    in_channels_ = f->ch_layout.nb_channels;
    if (in_rate_ <= 0 || in_rate_ > kMaxRate || in_channels_ <= 0 || in_channels_ > kMaxChannels)
      input_.fail("has audio frames with " + std::to_string(in_channels_) + " channels at " +
                  std::to_string(in_rate_) + " Hz, which are not decodable");
    Layout in;
    // As the ffmpeg command line does for a stream without a channel layout: the default
    // layout for its channel count.
    if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
      av_channel_layout_default(&in.layout, in_channels_);
    else if (av_channel_layout_copy(&in.layout, &f->ch_layout) < 0)
      throw Error("out of memory copying a channel layout");
    SwrContext* s = nullptr;
    int ret = swr_alloc_set_opts2(&s, &out_.layout, AV_SAMPLE_FMT_FLTP, opt_.sample_rate, &in.layout,
                                  static_cast<AVSampleFormat>(in_format_), in_rate_, 0, nullptr);
    swr_.reset(s);
    if (ret >= 0) ret = swr_init(swr_.get());
    if (ret < 0)
      input_.fail("has audio that libswresample cannot convert (FFmpeg: " + detail::av_error_text(ret) + ")");
  }

  int convert(const uint8_t** in, int n) {
    const int room = swr_get_out_samples(swr_.get(), n);
    if (room <= 0) return 0;
    for (auto& p : planes_) p.resize(static_cast<size_t>(count_) + room);
    std::vector<uint8_t*> out(planes_.size());
    for (size_t c = 0; c < planes_.size(); ++c) out[c] = reinterpret_cast<uint8_t*>(planes_[c].data() + count_);
    const int got = swr_convert(swr_.get(), out.data(), room, in, n);
    if (got < 0) input_.fail("audio resampling failed (FFmpeg: " + detail::av_error_text(got) + ")");
    count_ += got;
    for (auto& p : planes_) p.resize(static_cast<size_t>(count_));
    return got;
  }

  detail::Input& input_;
  const AudioOptions& opt_;
  Layout out_;
  SwrPtr swr_;
  int in_format_ = -1;
  int in_rate_ = 0;
  int in_channels_ = 0;
  int64_t in_samples_ = 0;
  std::vector<std::vector<float>> planes_;
  int64_t count_ = 0;
};

}  // namespace

Audio decode_audio(const std::string& path, const AudioOptions& o) {
  if (o.sample_rate <= 0 || o.sample_rate > kMaxRate)
    throw Error("AudioOptions::sample_rate must be in (0, " + std::to_string(kMaxRate) + "], got " +
                std::to_string(o.sample_rate));
  if (o.channels <= 0 || o.channels > kMaxChannels)
    throw Error("AudioOptions::channels must be in [1, " + std::to_string(kMaxChannels) + "], got " +
                std::to_string(o.channels));
  detail::Input input(path, o.limits);
  const int stream = input.audio_stream(o.stream);
  detail::CodecContextPtr dec = input.open_decoder(stream);
  const AVRational tb = input.ctx()->streams[stream]->time_base;
  Resampler resampler(input, o);
  detail::PacketPtr pkt = detail::make_packet();
  detail::FramePtr frame = detail::make_frame();
  const int max_bad = std::max(1, o.limits.max_bad_packets);
  int bad = 0;
  bool have_start = false;
  double start = 0;

  auto receive_all = [&] {
    for (;;) {
      input.check_deadline();
      const int ret = avcodec_receive_frame(dec.get(), frame.get());
      if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return;
      if (ret < 0) {
        if (++bad > max_bad)
          input.fail("is damaged: the audio decoder failed " + std::to_string(bad) + " times in a row (FFmpeg: " +
                     detail::av_error_text(ret) + ")");
        return;
      }
      bad = 0;
      if (!have_start && frame->best_effort_timestamp != AV_NOPTS_VALUE) {
        start = detail::to_seconds(frame->best_effort_timestamp, tb);
        have_start = true;
      }
      resampler.add(frame.get());
      av_frame_unref(frame.get());
    }
  };

  while (input.read(pkt.get())) {
    if (pkt->stream_index != stream) {
      av_packet_unref(pkt.get());
      continue;
    }
    const bool corrupt = (pkt->flags & AV_PKT_FLAG_CORRUPT) != 0;
    const int ret = avcodec_send_packet(dec.get(), pkt.get());
    av_packet_unref(pkt.get());
    if (ret == AVERROR(ENOMEM)) throw Error("out of memory decoding " + path);
    if ((ret < 0 || corrupt) && ++bad > max_bad)
      input.fail("is damaged: " + std::to_string(bad) +
                 " consecutive audio packets could not be decoded (Limits::max_bad_packets)");
    receive_all();
  }
  input.check_complete(stream);
  avcodec_send_packet(dec.get(), nullptr);
  receive_all();
  resampler.flush();
  return resampler.result(stream, start);
}

Tensor mfcc_signal(const Audio& audio) {
  if (audio.channels != 1 || audio.samples.ndim() != 2 || audio.samples.size(0) != 1)
    throw Error("mfcc_signal: the audio must be mono (AudioOptions::channels = 1), got " +
                std::to_string(audio.channels) + " channels");
  const int64_t n = audio.samples.size(1);
  Tensor out = Tensor::empty({n}, DType::F32);
  const float* src = audio.samples.data<float>();
  float* dst = out.data<float>();
  for (int64_t i = 0; i < n; ++i) dst[i] = src[i] * 32768.0f;
  return out;
}

Tensor decode_mfcc_signal(const std::string& path, const Limits& limits) {
  AudioOptions o;
  o.sample_rate = 16000;
  o.channels = 1;
  o.limits = limits;
  return mfcc_signal(decode_audio(path, o));
}

MediaInfo probe(const std::string& path, const Limits& limits) {
  detail::Input input(path, limits);
  return input.info();
}

}  // namespace hl::media
