// engine/media: opening rules, caps, errors, the frame-choice rule, still images and the
// threaded queue. Media are made at test time with the ffmpeg command line.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <random>

#include "engine/media/media.h"
#include "media_fixtures.h"

namespace hl::test {
namespace {

using media::Limits;
using media::VideoFrame;
using media::VideoOptions;
using media::VideoReader;

const std::vector<std::string> kX264 = {"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"};

std::vector<std::string> cat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// A 64x48 x264 mp4 at `fps` lasting `seconds`, optionally with AAC audio.
std::string small_video(const TempDir& dir, const std::string& name, int fps, double seconds, bool audio) {
  const std::string path = dir.file(name);
  const std::string d = std::to_string(seconds);
  std::vector<std::string> inputs = {"testsrc2=size=64x48:rate=" + std::to_string(fps) + ":duration=" + d};
  std::vector<std::string> extra = kX264;
  if (audio) {
    inputs.push_back("sine=frequency=440:sample_rate=44100:duration=" + d);
    extra = cat(extra, {"-c:a", "aac"});
  }
  make_media(path, inputs, extra);
  return path;
}

// ---------------------------------------------------------------------------------------
// Probing

TEST(MediaProbe, VideoWithAudio) {
  HL_REQUIRE_FFMPEG_CLI();
  TempDir dir;
  const std::string path = small_video(dir, "a.mp4", 25, 1.0, true);
  const media::MediaInfo info = media::probe(path);
  ASSERT_TRUE(info.video.has_value());
  EXPECT_EQ(info.video->width, 64);
  EXPECT_EQ(info.video->height, 48);
  EXPECT_EQ(info.video->frame_rate.num * 1, info.video->frame_rate.den * 25);
  EXPECT_EQ(info.video->codec, "h264");
  ASSERT_EQ(info.audio.size(), 1u);
  EXPECT_EQ(info.audio[0].sample_rate, 44100);
  EXPECT_EQ(info.audio[0].channels, 1);
  EXPECT_NEAR(info.duration_seconds, 1.0, 0.1);
  EXPECT_FALSE(info.is_image);
}

TEST(MediaProbe, SeveralAudioStreams) {
  HL_REQUIRE_FFMPEG_CLI();
  TempDir dir;
  const std::string path = dir.file("multi.mkv");
  make_media(path, {"sine=frequency=440:sample_rate=44100:duration=1", "sine=frequency=1000:sample_rate=48000:duration=1"},
             {"-map", "0", "-map", "1", "-c:a", "flac", "-ac:1", "2"});
  const media::MediaInfo info = media::probe(path);
  EXPECT_FALSE(info.video.has_value());
  ASSERT_EQ(info.audio.size(), 2u);
  EXPECT_EQ(info.audio[0].sample_rate, 44100);
  EXPECT_EQ(info.audio[0].channels, 1);
  EXPECT_EQ(info.audio[1].sample_rate, 48000);
  EXPECT_EQ(info.audio[1].channels, 2);
}

// ---------------------------------------------------------------------------------------
// The frame-choice rule: tick n shows the latest frame with pts <= n / rate, and the
// ticks run to the end of the last frame.

TEST(MediaVideo, TicksFollowTimestampsAtConstantRate) {
  HL_REQUIRE_FFMPEG_CLI();
  TempDir dir;
  const std::string path = small_video(dir, "v25.mp4", 25, 2.0, false);
  const DecodedVideo v = read_all(path);
  // 50 frames of 1/25 s end at 2 s: ticks n with n * 1001 / 30000 < 2, i.e. n <= 59.
  ASSERT_EQ(v.frames.size(), 60u);
  for (size_t n = 0; n < v.frames.size(); ++n) {
    const VideoFrame& f = v.frames[n];
    EXPECT_EQ(f.index, static_cast<int64_t>(n));
    // latest k with k / 25 <= n * 1001 / 30000
    EXPECT_EQ(f.source_index, static_cast<int64_t>(n * 1001 * 25 / 30000)) << "tick " << n;
    EXPECT_EQ(f.rgb.shape(), Shape({48, 64, 3}));
    EXPECT_EQ(f.rgb.dtype(), DType::U8);
  }
}

TEST(MediaVideo, OutputRateAndSizeOptions) {
  HL_REQUIRE_FFMPEG_CLI();
  TempDir dir;
  const std::string path = small_video(dir, "v30.mp4", 30, 1.0, false);
  VideoOptions o;
  o.rate = {10, 1};
  o.width = 33;
  o.height = 17;
  const DecodedVideo v = read_all(path, o);
  ASSERT_EQ(v.frames.size(), 10u);
  for (size_t n = 0; n < v.frames.size(); ++n) {
    EXPECT_EQ(v.frames[n].source_index, static_cast<int64_t>(3 * n));
    EXPECT_EQ(v.frames[n].rgb.shape(), Shape({17, 33, 3}));
    EXPECT_DOUBLE_EQ(v.frames[n].time_seconds, 0.1 * static_cast<double>(n));
  }
  VideoOptions bad;
  bad.width = 10;  // height 0
  EXPECT_THROW(VideoReader(path, bad), Error);
  bad = {};
  bad.rate = {0, 1};
  EXPECT_THROW(VideoReader(path, bad), Error);
}

TEST(MediaVideo, FrameSizeChangesMidStream) {
  HL_REQUIRE_FFMPEG_CLI();
  TempDir dir;
  // Two raw H.264 streams of different sizes joined byte-wise: the second SPS changes the size.
  make_media(dir.file("a.h264"), {"testsrc2=size=64x48:rate=25:duration=0.4"}, kX264);
  make_media(dir.file("b.h264"), {"testsrc=size=98x62:rate=25:duration=0.4"}, kX264);
  auto a = read_file(dir.file("a.h264"));
  const auto b = read_file(dir.file("b.h264"));
  a.insert(a.end(), b.begin(), b.end());
  write_file(dir.file("ab.h264"), a);
  const DecodedVideo v = read_all(dir.file("ab.h264"));
  ASSERT_GT(v.frames.size(), 2u);
  EXPECT_EQ(v.frames.front().rgb.shape(), Shape({48, 64, 3}));
  EXPECT_EQ(v.frames.back().rgb.shape(), Shape({62, 98, 3}));
  VideoOptions o;
  o.width = 40;
  o.height = 30;
  for (const auto& f : read_all(dir.file("ab.h264"), o).frames) EXPECT_EQ(f.rgb.shape(), Shape({30, 40, 3}));
}

TEST(MediaVideo, StillImagesAreOneFrame) {
  HL_REQUIRE_FFMPEG_CLI();
  TempDir dir;
  make_media(dir.file("x.png"), {"testsrc=size=97x61:rate=1:duration=1"}, {"-frames:v", "1"});
  make_media(dir.file("x.jpg"), {"testsrc=size=97x61:rate=1:duration=1"}, {"-frames:v", "1"});
  for (const char* name : {"x.png", "x.jpg"}) {
    const media::MediaInfo info = media::probe(dir.file(name));
    EXPECT_TRUE(info.is_image) << name << " " << info.format;
    const DecodedVideo v = read_all(dir.file(name));
    ASSERT_EQ(v.frames.size(), 1u) << name;
    EXPECT_EQ(v.frames[0].rgb.shape(), Shape({61, 97, 3})) << name;
  }
  // A PNG under a misleading extension is still read by content.
  std::filesystem::copy_file(dir.file("x.png"), dir.file("png_really.mp4"));
  EXPECT_EQ(read_all(dir.file("png_really.mp4")).frames.size(), 1u);
  EXPECT_TRUE(Contains(format_error_of([&] { media::decode_audio(dir.file("x.png")); }), "has no audio stream; audio features (mfcc) need one"));
}

// ---------------------------------------------------------------------------------------
// Audio and video presence

TEST(MediaErrors, VideoWithoutAudio) {
  HL_REQUIRE_FFMPEG_CLI();
  TempDir dir;
  const std::string path = small_video(dir, "silent.mp4", 30, 0.5, false);
  EXPECT_EQ(read_all(path).frames.size(), 15u);
  const std::string msg = format_error_of([&] { media::decode_audio(path); });
  EXPECT_TRUE(Contains(msg, path));
  EXPECT_TRUE(Contains(msg, "has no audio stream; audio features (mfcc) need one"));
}

TEST(MediaErrors, AudioOnly) {
  HL_REQUIRE_FFMPEG_CLI();
  TempDir dir;
  const std::string path = dir.file("a.m4a");
  make_media(path, {"sine=frequency=440:sample_rate=44100:duration=1"}, {"-c:a", "aac"});
  const std::string msg = format_error_of([&] { VideoReader r(path); });
  EXPECT_TRUE(Contains(msg, path));
  EXPECT_TRUE(Contains(msg, "has no video stream"));
  const media::Audio a = media::decode_audio(path);
  EXPECT_EQ(a.channels, 1);
  EXPECT_EQ(a.sample_rate, 16000);
  EXPECT_NEAR(static_cast<double>(a.samples.size(1)), 16000.0, 400.0);
  const Tensor s = media::mfcc_signal(a);
  ASSERT_EQ(s.numel(), a.samples.size(1));
  EXPECT_FLOAT_EQ(s.data<float>()[1000], a.samples.data<float>()[1000] * 32768.0f);
  media::AudioOptions stereo;
  stereo.channels = 2;
  stereo.sample_rate = 21000;
  const media::Audio b = media::decode_audio(path, stereo);
  EXPECT_EQ(b.samples.size(0), 2);
  EXPECT_THROW(media::mfcc_signal(b), Error);
  media::AudioOptions missing;
  missing.stream = 1;
  EXPECT_TRUE(Contains(format_error_of([&] { media::decode_audio(path, missing); }), "has 1 audio stream(s)"));
}

// ---------------------------------------------------------------------------------------
// Hostile and bad inputs: each one a specific FormatError naming the file, and none hangs.

TEST(MediaErrors, MissingEmptyDirectoryDevice) {
  TempDir dir;
  EXPECT_TRUE(Contains(format_error_of([&] { media::probe(dir.file("nope.mp4")); }), "nope.mp4: cannot open: No such file or directory"));
  write_file(dir.file("empty.mp4"), std::string());
  EXPECT_TRUE(Contains(format_error_of([&] { media::probe(dir.file("empty.mp4")); }), "is empty (0 bytes)"));
  EXPECT_TRUE(Contains(format_error_of([&] { media::probe(dir.path().string()); }), "is a directory"));
  EXPECT_TRUE(Contains(format_error_of([&] { media::probe("/dev/zero"); }), "is not a regular file"));
}

TEST(MediaErrors, UrlsAndProtocolsAreRefused) {
  for (const std::string url : {"http://127.0.0.1:9/x.mp4", "https://example.com/a.mp4", "concat:a.mp4|b.mp4",
                                "subfile,,start,0,end,100,,:a.mp4", "pipe:0", "file:a.mp4", "tcp://127.0.0.1:9",
                                "rtmp://h/x", "data:video/mp4;base64,AAAA"}) {
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_TRUE(Contains(format_error_of([&] { media::probe(url); }), "looks like a URL")) << url;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1)) << url;
  }
}

TEST(MediaErrors, ImageSequencePatternIsNotExpanded) {
  HL_REQUIRE_FFMPEG_CLI();
  TempDir dir;
  make_media(dir.file("img001.png"), {"testsrc=size=32x24:rate=1:duration=1"}, {"-frames:v", "1"});
  make_media(dir.file("img002.png"), {"testsrc=size=32x24:rate=1:duration=1"}, {"-frames:v", "1"});
  EXPECT_TRUE(Contains(format_error_of([&] { media::probe(dir.file("img%03d.png")); }), "image-sequence patterns"));
  EXPECT_TRUE(Contains(format_error_of([&] { media::probe(dir.file("img*.png")); }), "image-sequence patterns"));
}

TEST(MediaErrors, NotMediaFiles) {
  TempDir dir;
  std::mt19937 rng(5);
  std::vector<uint8_t> noise(100000);
  for (auto& b : noise) b = static_cast<uint8_t>(rng());
  write_file(dir.file("noise.mp4"), noise);
  const std::string m1 = format_error_of([&] { VideoReader r(dir.file("noise.mp4")); });
  EXPECT_TRUE(Contains(m1, "noise.mp4: is not a media file"));
  write_file(dir.file("notes.txt"), std::string("These are my notes.\nNothing to see here.\n"));
  EXPECT_TRUE(Contains(format_error_of([&] { media::probe(dir.file("notes.txt")); }), "notes.txt: is not a"));
  write_file(dir.file("notes.mp4"), std::string("These are my notes.\nNothing to see here.\n"));
  EXPECT_TRUE(Contains(format_error_of([&] { media::probe(dir.file("notes.mp4")); }), "notes.mp4: is not a"));
}

TEST(MediaErrors, PlaylistsAreRefused) {
  HL_REQUIRE_FFMPEG_CLI();
  TempDir dir;
  const std::string video = small_video(dir, "inner.mp4", 25, 0.2, false);
  write_file(dir.file("list.m3u8"),
             std::string("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\ninner.mp4\n#EXT-X-ENDLIST\n"));
  EXPECT_TRUE(Contains(format_error_of([&] { media::probe(dir.file("list.m3u8")); }), "is a playlist"));
  write_file(dir.file("list.ffconcat"), std::string("ffconcat version 1.0\nfile inner.mp4\n"));
  EXPECT_TRUE(Contains(format_error_of([&] { media::probe(dir.file("list.ffconcat")); }), "is a playlist"));
}

TEST(MediaErrors, TruncatedFiles) {
  HL_REQUIRE_FFMPEG_CLI();
  TempDir dir;
  const std::string path = small_video(dir, "full.mp4", 25, 1.0, true);  // moov at the end
  const auto bytes = read_file(path);
  for (double frac : {0.05, 0.5, 0.95}) {
    const std::string cut = dir.file("cut" + std::to_string(static_cast<int>(frac * 100)) + ".mp4");
    write_file(cut, std::vector<uint8_t>(bytes.begin(), bytes.begin() + static_cast<long>(bytes.size() * frac)));
    EXPECT_TRUE(Contains(format_error_of([&] { VideoReader r(cut); }), "is truncated or damaged")) << frac;
  }
  // With the index first (faststart), a cut in the media data is found at the end.
  run_ffmpeg({"-i", path, "-c", "copy", "-movflags", "+faststart", dir.file("fs.mp4")});
  const auto fs = read_file(dir.file("fs.mp4"));
  write_file(dir.file("fs60.mp4"), std::vector<uint8_t>(fs.begin(), fs.begin() + static_cast<long>(fs.size() * 0.6)));
  EXPECT_EQ(media::probe(dir.file("fs60.mp4")).audio.size(), 1u);  // the headers are intact
  EXPECT_TRUE(Contains(format_error_of([&] { read_all(dir.file("fs60.mp4")); }), "fs60.mp4: is truncated"));
  EXPECT_TRUE(Contains(format_error_of([&] { media::decode_audio(dir.file("fs60.mp4")); }), "fs60.mp4: is truncated"));
  // Header only: the first 40 bytes.
  write_file(dir.file("head.mp4"), std::vector<uint8_t>(bytes.begin(), bytes.begin() + 40));
  EXPECT_TRUE(Contains(format_error_of([&] { media::probe(dir.file("head.mp4")); }), "head.mp4: is"));
}

// Motion JPEG in Matroska: every packet is one JPEG (SOI ff d8 ... EOI ff d9), so frames
// can be damaged one by one while the container stays intact. Zeroing a run of them
// makes the decoder reject each; Limits::max_bad_packets consecutive rejections are
// tolerated (the last good frame is held), one more stops the reader with a clear error.
std::vector<std::pair<size_t, size_t>> jpeg_ranges(const std::vector<uint8_t>& bytes) {
  std::vector<std::pair<size_t, size_t>> out;  // [SOI, EOI + 2)
  for (size_t i = 0; i + 2 < bytes.size(); ++i) {
    if (bytes[i] != 0xFF || bytes[i + 1] != 0xD8 || bytes[i + 2] != 0xFF) continue;
    for (size_t j = i + 2; j + 1 < bytes.size(); ++j)
      if (bytes[j] == 0xFF && bytes[j + 1] == 0xD9) {
        out.emplace_back(i, j + 2);
        i = j + 1;
        break;
      }
  }
  return out;
}

TEST(MediaErrors, ConsecutiveUndecodablePackets) {
  HL_REQUIRE_FFMPEG_CLI();
  TempDir dir;
  const std::string path = dir.file("mjpeg.mkv");
  make_media(path, {"testsrc=size=64x48:rate=25:duration=2"}, {"-c:v", "mjpeg", "-q:v", "5"});
  const std::vector<uint8_t> bytes = read_file(path);
  const auto frames = jpeg_ranges(bytes);
  ASSERT_EQ(frames.size(), 50u) << "expected one JPEG per frame";
  auto damage = [&](const std::string& name, size_t first, size_t count) {
    std::vector<uint8_t> b = bytes;
    for (size_t k = first; k < first + count; ++k) std::fill(b.begin() + frames[k].first, b.begin() + frames[k].second, 0);
    write_file(dir.file(name), b);
    return dir.file(name);
  };
  VideoOptions o;
  o.rate = {25, 1};
  o.limits.max_bad_packets = 4;
  // Four damaged frames in a row: tolerated; the reader still gives all 50 ticks.
  const auto ok = read_all(damage("four.mkv", 20, 4), o);
  EXPECT_EQ(ok.frames.size(), 50u);
  // Five in a row: one more than the cap.
  const std::string msg = format_error_of([&] { read_all(damage("five.mkv", 20, 5), o); });
  EXPECT_TRUE(Contains(msg, "five.mkv: is damaged"));
  EXPECT_TRUE(Contains(msg, "max_bad_packets") || Contains(msg, "times in a row")) << msg;
  // Damage spread out (never more than two in a row) never reaches the cap.
  std::vector<uint8_t> spread = bytes;
  for (size_t k = 5; k < 50; k += 3)
    for (size_t d = 0; d < 2 && k + d < 50; ++d)
      std::fill(spread.begin() + frames[k + d].first, spread.begin() + frames[k + d].second, 0);
  write_file(dir.file("spread.mkv"), spread);
  EXPECT_EQ(read_all(dir.file("spread.mkv"), o).frames.size(), 50u);
}

TEST(MediaErrors, CapsAreEnforced) {
  HL_REQUIRE_FFMPEG_CLI();
  TempDir dir;
  const std::string path = small_video(dir, "v.mp4", 25, 2.0, true);
  Limits pixels;
  pixels.max_pixels = 64 * 47;
  EXPECT_TRUE(Contains(format_error_of([&] { VideoReader r(path, VideoOptions{.limits = pixels}); }), "above the cap of 3008 pixels"));
  // A header claiming a huge frame is refused before anything is allocated.
  write_file(dir.file("huge.y4m"), std::string("YUV4MPEG2 W16000 H16000 F25:1 Ip A1:1 C420jpeg\nFRAME\n") +
                                       std::string(1000, '\x80'));
  EXPECT_TRUE(Contains(format_error_of([&] { VideoReader r(dir.file("huge.y4m")); }), "above the cap"));

  media::AudioOptions audio;
  audio.limits.max_audio_seconds = 0.5;
  EXPECT_TRUE(Contains(format_error_of([&] { media::decode_audio(path, audio); }), "Limits::max_audio_seconds"));

  VideoOptions shortcap;
  shortcap.limits.max_video_seconds = 0.5;
  VideoReader r(path, shortcap);
  VideoFrame f;
  int got = 0;
  const std::string msg = format_error_of([&] {
    while (r.next(&f)) ++got;
  });
  EXPECT_TRUE(Contains(msg, "Limits::max_video_seconds"));
  EXPECT_EQ(got, 14);  // ticks 0..13 are within 0.5 s at 29.97 fps; the error follows them
}

TEST(MediaErrors, DeadlineStopsDecoding) {
  HL_REQUIRE_FFMPEG_CLI();
  TempDir dir;
  const std::string path = small_video(dir, "v.mp4", 25, 1.0, true);
  Limits now;
  now.deadline_seconds = 0;
  EXPECT_TRUE(Contains(format_error_of([&] { media::probe(path, now); }), "longer than the deadline of 0 s"));
  media::AudioOptions a;
  a.limits = now;
  EXPECT_TRUE(Contains(format_error_of([&] { media::decode_audio(path, a); }), "deadline"));
}

TEST(MediaErrors, BadOptionsAreErrors) {
  HL_REQUIRE_FFMPEG_CLI();
  TempDir dir;
  const std::string path = small_video(dir, "v.mp4", 25, 0.2, false);
  VideoOptions o;
  o.scale_flags = "no_such_flag";
  VideoReader r(path, o);
  VideoFrame f;
  EXPECT_THROW(r.next(&f), Error);
  media::AudioOptions a;
  a.sample_rate = 0;
  EXPECT_THROW(media::decode_audio(path, a), Error);
}

// ---------------------------------------------------------------------------------------
// The decoding thread and its queue

TEST(MediaQueue, EarlyDestructionDoesNotHangOrLeak) {
  HL_REQUIRE_FFMPEG_CLI();
  TempDir dir;
  const std::string path = small_video(dir, "v.mp4", 30, 4.0, false);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 30; ++i) {
    VideoOptions o;
    o.queue_frames = 1 + i % 4;
    VideoReader r(path, o);
    VideoFrame f;
    for (int k = 0; k < 3; ++k) {
      ASSERT_TRUE(r.next(&f));
      EXPECT_EQ(f.index, k);
    }
  }
  // Destroying without reading anything, too.
  for (int i = 0; i < 10; ++i) VideoReader r(path);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(20));
}

TEST(MediaQueue, FramesOutliveTheReaderAndBuffersAreReused) {
  HL_REQUIRE_FFMPEG_CLI();
  TempDir dir;
  const std::string path = small_video(dir, "v.mp4", 30, 1.0, false);
  VideoFrame kept;
  std::vector<const void*> addresses;
  {
    VideoOptions o;
    o.queue_frames = 2;
    VideoReader r(path, o);
    VideoFrame f;
    ASSERT_TRUE(r.next(&kept));
    while (r.next(&f)) addresses.push_back(f.rgb.raw());
  }
  EXPECT_EQ(kept.rgb.shape(), Shape({48, 64, 3}));
  const uint8_t* p = kept.rgb.data<uint8_t>();
  int64_t sum = 0;
  for (int64_t i = 0; i < kept.rgb.numel(); ++i) sum += p[i];
  EXPECT_GT(sum, 0);
  std::sort(addresses.begin(), addresses.end());
  addresses.erase(std::unique(addresses.begin(), addresses.end()), addresses.end());
  EXPECT_LE(addresses.size(), 7u);  // queue + pool slack, not one buffer per frame
}

}  // namespace
}  // namespace hl::test
