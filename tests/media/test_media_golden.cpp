// engine/media against the ffmpeg command line (the reference nobody here wrote):
// decoded frames pixel for pixel, and resampled audio sample for sample.
//
// Video reference: ffmpeg -i IN -map 0:v:0
//   -vf "setpts=PTS-STARTPTS,fps=RATE:round=up,scale=W:H:flags=F,format=rgb24"
//   -fps_mode passthrough -f rawvideo -
// fps=...:round=up implements our rule exactly (docs/media.md): the filter shows at
// output tick n the last frame whose timestamp, rounded UP to the output time base, is
// <= n, i.e. the last frame with pts <= n / rate; and its end-of-stream rule (with
// eof_action=round, the default, rounding the end time up too) emits ticks while
// n / rate < the end of the last frame, which is ours as well. So the counts must be equal.
#include <gtest/gtest.h>

#include <cstring>

#include "engine/media/media.h"
#include "media_fixtures.h"

namespace hl::test {
namespace {

using media::Rate;
using media::VideoOptions;

const std::vector<std::string> kX264 = {"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"};

std::string rate_text(Rate r) { return std::to_string(r.num) + "/" + std::to_string(r.den); }

// Compares every frame VideoReader gives with the ffmpeg command line's, for output size
// w x h (0 x 0: native), rate and swscale flags.
void expect_video_matches_cli(const std::string& path, int w, int h, Rate rate = {30000, 1001},
                              const std::string& flags = "bicubic") {
  VideoOptions o;
  o.width = w;
  o.height = h;
  o.rate = rate;
  o.scale_flags = flags;
  const DecodedVideo ours = read_all(path, o);
  ASSERT_FALSE(ours.frames.empty());
  const int64_t fh = ours.frames[0].rgb.size(0), fw = ours.frames[0].rgb.size(1);
  const std::string scale = "scale=" + std::to_string(fw) + ":" + std::to_string(fh) + ":flags=" + flags;
  const std::string filter = "setpts=PTS-STARTPTS,fps=" + rate_text(rate) + ":round=up," + scale + ",format=rgb24";
  const std::string raw =
      run_ffmpeg({"-i", path, "-map", "0:v:0", "-vf", filter, "-fps_mode", "passthrough", "-f", "rawvideo", "-"});
  const size_t frame_bytes = static_cast<size_t>(fw * fh * 3);
  ASSERT_EQ(raw.size() % frame_bytes, 0u);
  const size_t cli_count = raw.size() / frame_bytes;
  EXPECT_EQ(ours.frames.size(), cli_count) << path << ": frame counts differ";
  const size_t common = std::min(cli_count, ours.frames.size());
  int64_t bad_frames = 0;
  for (size_t i = 0; i < common; ++i) {
    const auto& t = ours.frames[i].rgb;
    ASSERT_EQ(t.shape(), Shape({fh, fw, 3})) << "frame " << i;
    const auto* a = t.data<uint8_t>();
    const auto* b = reinterpret_cast<const uint8_t*>(raw.data()) + i * frame_bytes;
    if (std::memcmp(a, b, frame_bytes) == 0) continue;
    size_t differ = 0;
    int worst = 0;
    size_t where = 0;
    for (size_t k = 0; k < frame_bytes; ++k) {
      const int d = std::abs(int(a[k]) - int(b[k]));
      if (d) ++differ;
      if (d > worst) worst = d, where = k;
    }
    if (++bad_frames <= 3)
      ADD_FAILURE() << path << ": frame " << i << " (source frame " << ours.frames[i].source_index << ") differs in "
                    << differ << " of " << frame_bytes << " bytes; worst |diff| " << worst << " at byte " << where;
  }
  EXPECT_EQ(bad_frames, 0) << path << ": " << bad_frames << " of " << common << " frames differ";
}

TEST(MediaGoldenVideo, Fps25Native) {
  HL_REQUIRE_FFMPEG_CLI();
  TempDir dir;
  make_media(dir.file("a.mp4"), {"testsrc2=size=64x48:rate=25:duration=2"}, kX264);
  expect_video_matches_cli(dir.file("a.mp4"), 0, 0);
}

TEST(MediaGoldenVideo, Fps30ScaledUp) {
  HL_REQUIRE_FFMPEG_CLI();
  TempDir dir;
  make_media(dir.file("a.mp4"), {"testsrc2=size=64x48:rate=30:duration=2"}, kX264);
  expect_video_matches_cli(dir.file("a.mp4"), 160, 120);
  expect_video_matches_cli(dir.file("a.mp4"), 101, 67, {10, 1}, "lanczos");
}

TEST(MediaGoldenVideo, Fps60ScaledDown) {
  HL_REQUIRE_FFMPEG_CLI();
  TempDir dir;
  make_media(dir.file("a.mp4"), {"testsrc2=size=128x96:rate=60:duration=1.5"}, kX264);
  expect_video_matches_cli(dir.file("a.mp4"), 32, 24);
  expect_video_matches_cli(dir.file("a.mp4"), 45, 31, {30000, 1001}, "bilinear");
}

TEST(MediaGoldenVideo, OddSizes) {
  HL_REQUIRE_FFMPEG_CLI();
  TempDir dir;
  make_media(dir.file("odd.mkv"), {"testsrc=size=97x61:rate=30:duration=1"}, {"-c:v", "ffv1", "-pix_fmt", "yuv420p"});
  expect_video_matches_cli(dir.file("odd.mkv"), 0, 0);
  expect_video_matches_cli(dir.file("odd.mkv"), 51, 33, {30000, 1001}, "area");
  make_media(dir.file("odd444.mp4"), {"testsrc=size=97x61:rate=24:duration=1"},
             {"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv444p"});
  expect_video_matches_cli(dir.file("odd444.mp4"), 0, 0);
}

TEST(MediaGoldenVideo, VariableFrameRate) {
  HL_REQUIRE_FFMPEG_CLI();
  TempDir dir;
  // Irregular gaps: frame N at (N + 0.5 floor(N/7) + 0.3 (N mod 3)) / 25 s.
  const std::string src =
      "testsrc2=size=64x48:rate=30:duration=2,settb=1/1000,setpts='(N+0.5*floor(N/7)+0.3*mod(N\\,3))/25/TB'";
  std::vector<std::string> args = kX264;
  args.insert(args.end(), {"-fps_mode", "passthrough"});
  make_media(dir.file("vfr.mkv"), {src}, args);
  expect_video_matches_cli(dir.file("vfr.mkv"), 0, 0);
  make_media(dir.file("vfr.mp4"), {src}, args);
  expect_video_matches_cli(dir.file("vfr.mp4"), 40, 30, {25, 1});
}

TEST(MediaGoldenVideo, Bt709TaggedVideo) {
  HL_REQUIRE_FFMPEG_CLI();
  TempDir dir;
  std::vector<std::string> args = kX264;
  for (const char* a : {"-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709"}) args.push_back(a);
  make_media(dir.file("709.mp4"), {"testsrc2=size=64x48:rate=25:duration=0.5"}, args);
  expect_video_matches_cli(dir.file("709.mp4"), 0, 0);
  // And the matrix matters: decoded as BT.601 the frames would differ (checked by hand).
}

TEST(MediaGoldenVideo, VideoWithSeveralAudioStreams) {
  HL_REQUIRE_FFMPEG_CLI();
  TempDir dir;
  make_media(dir.file("av.mkv"),
             {"testsrc2=size=64x48:rate=25:duration=1", "sine=frequency=300:sample_rate=44100:duration=1",
              "sine=frequency=900:sample_rate=48000:duration=1"},
             {"-map", "0", "-map", "1", "-map", "2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
              "-c:a", "flac"});
  expect_video_matches_cli(dir.file("av.mkv"), 0, 0);
}

TEST(MediaGoldenVideo, StillImages) {
  HL_REQUIRE_FFMPEG_CLI();
  TempDir dir;
  make_media(dir.file("x.png"), {"testsrc=size=97x61:rate=1:duration=1"}, {"-frames:v", "1"});
  make_media(dir.file("x.jpg"), {"testsrc=size=97x61:rate=1:duration=1"}, {"-frames:v", "1"});
  for (const char* name : {"x.png", "x.jpg"}) {
    for (auto [w, h] : {std::pair{0, 0}, std::pair{64, 40}}) {
      VideoOptions o;
      o.width = w;
      o.height = h;
      const DecodedVideo ours = read_all(dir.file(name), o);
      ASSERT_EQ(ours.frames.size(), 1u);
      const auto& t = ours.frames[0].rgb;
      const std::string raw =
          run_ffmpeg({"-i", dir.file(name), "-vf",
                      "scale=" + std::to_string(t.size(1)) + ":" + std::to_string(t.size(0)) + ":flags=bicubic,format=rgb24",
                      "-frames:v", "1", "-f", "rawvideo", "-"});
      ASSERT_EQ(raw.size(), static_cast<size_t>(t.nbytes())) << name;
      EXPECT_EQ(std::memcmp(raw.data(), t.raw(), raw.size()), 0) << name << " " << w << "x" << h;
    }
  }
}

// ---------------------------------------------------------------------------------------
// Audio: exact, sample for sample (both sides use libswresample with default options).

std::vector<float> cli_audio(const std::string& path, int stream, int rate, int channels) {
  const std::string raw = run_ffmpeg({"-i", path, "-map", "0:a:" + std::to_string(stream), "-ac", std::to_string(channels),
                                      "-ar", std::to_string(rate), "-f", "f32le", "-"});
  std::vector<float> v(raw.size() / sizeof(float));
  std::memcpy(v.data(), raw.data(), v.size() * sizeof(float));
  return v;
}

void expect_audio_matches_cli(const std::string& path, int stream, int rate, int channels) {
  media::AudioOptions o;
  o.sample_rate = rate;
  o.channels = channels;
  o.stream = stream;
  const media::Audio a = media::decode_audio(path, o);
  const std::vector<float> ref = cli_audio(path, stream < 0 ? 0 : stream, rate, channels);  // interleaved
  ASSERT_EQ(a.samples.size(0), channels);
  const int64_t n = a.samples.size(1);
  ASSERT_EQ(static_cast<size_t>(n * channels), ref.size()) << path << " stream " << stream;
  const float* p = a.samples.data<float>();
  int64_t differ = 0;
  double worst = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int c = 0; c < channels; ++c) {
      const double d = std::abs(double(p[c * n + i]) - double(ref[static_cast<size_t>(i * channels + c)]));
      if (d > 0) ++differ;
      worst = std::max(worst, d);
    }
  EXPECT_EQ(differ, 0) << path << " stream " << stream << " at " << rate << " Hz x" << channels << ": " << differ
                       << " samples differ, worst " << worst;
}

TEST(MediaGoldenAudio, AacTo16kMonoAnd21kStereo) {
  HL_REQUIRE_FFMPEG_CLI();
  TempDir dir;
  make_media(dir.file("a.mp4"),
             {"testsrc2=size=64x48:rate=25:duration=1.5", "sine=frequency=440:sample_rate=44100:duration=1.5",
              "sine=frequency=660:sample_rate=44100:duration=1.5"},
             {"-filter_complex", "[1:a][2:a]amerge=inputs=2[st]", "-map", "0:v", "-map", "[st]", "-c:v", "libx264",
              "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"});
  const media::MediaInfo info = media::probe(dir.file("a.mp4"));
  ASSERT_EQ(info.audio.size(), 1u);
  EXPECT_EQ(info.audio[0].channels, 2);
  expect_audio_matches_cli(dir.file("a.mp4"), -1, 16000, 1);
  expect_audio_matches_cli(dir.file("a.mp4"), -1, 21000, 2);
  // The MFCC signal is the 16-kHz mono signal times 32768.
  const Tensor s = media::decode_mfcc_signal(dir.file("a.mp4"));
  const std::vector<float> ref = cli_audio(dir.file("a.mp4"), 0, 16000, 1);
  ASSERT_EQ(static_cast<size_t>(s.numel()), ref.size());
  for (size_t i = 0; i < ref.size(); i += 97) ASSERT_EQ(s.data<float>()[i], ref[i] * 32768.0f);
}

TEST(MediaGoldenAudio, SeveralStreamsFirstByDefaultAndByIndex) {
  HL_REQUIRE_FFMPEG_CLI();
  TempDir dir;
  make_media(dir.file("m.mkv"),
             {"sine=frequency=300:sample_rate=44100:duration=1", "sine=frequency=900:sample_rate=48000:duration=1"},
             {"-map", "0", "-map", "1", "-c:a", "flac", "-ac:1", "2"});
  expect_audio_matches_cli(dir.file("m.mkv"), -1, 16000, 1);  // the first audio stream
  expect_audio_matches_cli(dir.file("m.mkv"), 1, 16000, 1);
  expect_audio_matches_cli(dir.file("m.mkv"), 1, 21000, 2);
  media::AudioOptions first, second;
  second.stream = 1;
  EXPECT_EQ(media::decode_audio(dir.file("m.mkv"), first).stream_index, 0);
  EXPECT_EQ(media::decode_audio(dir.file("m.mkv"), second).stream_index, 1);
}

}  // namespace
}  // namespace hl::test
