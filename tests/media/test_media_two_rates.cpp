// VideoOptions::second_rate (engine/media/media.h): one decoding pass giving two output
// rates. Each rate's frames, the frame counts of each VideoFrame expanded, must be exactly
// those (the same decoded frame, tick for tick) of a reader at that rate alone, on
// constant and variable frame rates, for rates above, below and equal to the source's,
// and for a still image.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "engine/media/media.h"
#include "media/media_fixtures.h"
#include "support/test_support.h"

namespace hl {
namespace {

using media::Rate;

// source_index of each tick of a reader at `rate` alone.
std::vector<int64_t> alone(const std::string& path, Rate rate) {
  media::VideoOptions o;
  o.rate = rate;
  o.width = o.height = 16;
  std::vector<int64_t> shown;
  for (const media::VideoFrame& f : test::read_all(path, o).frames) {
    EXPECT_EQ(f.ticks, 1);
    EXPECT_EQ(f.index, static_cast<int64_t>(shown.size()));
    shown.push_back(f.source_index);
  }
  return shown;
}

// The same from one two-rate reader: {rate's ticks, second rate's ticks}.
std::pair<std::vector<int64_t>, std::vector<int64_t>> together(const std::string& path, Rate rate, Rate second) {
  media::VideoOptions o;
  o.rate = rate;
  o.second_rate = second;
  o.width = o.height = 16;
  std::vector<int64_t> a, b;
  int64_t last_source = -1;
  for (const media::VideoFrame& f : test::read_all(path, o).frames) {
    EXPECT_GT(f.ticks + f.second_ticks, 0) << "a frame neither rate shows";
    EXPECT_GT(f.source_index, last_source) << "each decoded frame comes once";
    last_source = f.source_index;
    EXPECT_EQ(f.index, static_cast<int64_t>(a.size()));
    EXPECT_EQ(f.second_index, static_cast<int64_t>(b.size()));
    a.insert(a.end(), static_cast<size_t>(f.ticks), f.source_index);
    b.insert(b.end(), static_cast<size_t>(f.second_ticks), f.source_index);
  }
  return {a, b};
}

void expect_same_as_alone(const std::string& path, Rate rate, Rate second) {
  SCOPED_TRACE(path + " at " + std::to_string(rate.num) + "/" + std::to_string(rate.den) + " and " +
               std::to_string(second.num) + "/" + std::to_string(second.den));
  const auto [a, b] = together(path, rate, second);
  EXPECT_EQ(a, alone(path, rate));
  EXPECT_EQ(b, alone(path, second));
  EXPECT_FALSE(a.empty());
  EXPECT_FALSE(b.empty());
}

TEST(MediaTwoRates, EachRateGivesTheFramesOfAReaderAlone) {
  HL_REQUIRE_FFMPEG_CLI();
  test::TempDir dir;
  const std::string cfr = dir.file("ntsc.nut"), fast = dir.file("sixty.nut"), vfr = dir.file("vfr.nut");
  test::make_media(cfr, {"testsrc2=size=32x24:rate=30000/1001"}, {"-c:v", "ffv1", "-frames:v", "150"});
  test::make_media(fast, {"testsrc2=size=32x24:rate=60"}, {"-c:v", "ffv1", "-frames:v", "130"});
  // Variable frame rate: timestamps squeezed and stretched (NUT keeps them).
  test::make_media(vfr, {"testsrc2=size=32x24:rate=25"},
                   {"-vf", "settb=1/1000,setpts='N/25/TB+0.013*sin(N)/TB'", "-fps_mode", "passthrough", "-c:v", "ffv1", "-frames:v", "90"});
  const Rate ntsc{30000, 1001};
  for (const std::string& path : {cfr, fast, vfr}) {
    expect_same_as_alone(path, {10, 1}, ntsc);
    expect_same_as_alone(path, {25, 2}, ntsc);
    expect_same_as_alone(path, {1, 1}, ntsc);
    expect_same_as_alone(path, {60, 1}, ntsc);
    expect_same_as_alone(path, ntsc, ntsc);
  }
}

TEST(MediaTwoRates, StillImageIsOneFrameForEachRate) {
  HL_REQUIRE_FFMPEG_CLI();
  test::TempDir dir;
  test::make_media(dir.file("x.png"), {"testsrc=size=32x24:rate=1:duration=1"}, {"-frames:v", "1"});
  const auto [a, b] = together(dir.file("x.png"), {10, 1}, {30000, 1001});
  EXPECT_EQ(a, (std::vector<int64_t>{0}));
  EXPECT_EQ(b, (std::vector<int64_t>{0}));
}

TEST(MediaTwoRates, BadSecondRateIsRefused) {
  HL_REQUIRE_FFMPEG_CLI();
  test::TempDir dir;
  test::make_media(dir.file("v.nut"), {"testsrc2=size=32x24:rate=25"}, {"-c:v", "ffv1", "-frames:v", "5"});
  media::VideoOptions o;
  o.second_rate = {-1, 1};
  EXPECT_THROW(media::VideoReader(dir.file("v.nut"), o), Error);
  o.second_rate = {30, 0};
  EXPECT_THROW(media::VideoReader(dir.file("v.nut"), o), Error);
}

}  // namespace
}  // namespace hl
