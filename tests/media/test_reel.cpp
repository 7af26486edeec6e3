// The highlight reel (engine/media/reel.h) against the ffmpeg command line as the
// reference decoder: its length, its frames and its sound, on a 29.97-fps source whose
// segment boundaries fall between frames (rounded as the EDL rounds them).
//
// Source: testsrc2 (moving picture, every frame different) 160x120 at 30000/1001 fps,
// 32 s, with 1-kHz tone bursts of 0.3 s planted at 12.4 s, 17.5 s and 26.0 s in silence.
// Cuts: segments 1-2 ([5, 15) s) and 5 ([25, 30) s): the bursts at 12.4 and 26.0 s are
// in the reel, the one at 17.5 s is not.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/media/reel.h"
#include "media_fixtures.h"

namespace hl::test {
namespace {

namespace fs = std::filesystem;
constexpr double kRate = 30000.0 / 1001.0;
constexpr int kWidth = 160, kHeight = 120, kSampleRate = 48000;

// Frame number of a boundary at t seconds: round(t · rate) (the EDL's rule, a half up).
int64_t frame_at(double t) { return static_cast<int64_t>(std::floor(t * kRate + 0.5)); }

std::string ffprobe_cli() {
  std::string p = ffmpeg_cli();
  return p.substr(0, p.size() - std::string("ffmpeg").size()) + "ffprobe";
}
std::string ffprobe(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {ffprobe_cli(), "-v", "error"};
  argv.insert(argv.end(), args.begin(), args.end());
  const CommandResult r = run_command(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}
double ffprobe_number(const std::string& file, const std::string& stream, const std::string& entry,
                      bool count_frames = false) {
  std::vector<std::string> args = {"-select_streams", stream, "-show_entries", "stream=" + entry, "-of",
                                   "default=noprint_wrappers=1:nokey=1"};
  if (count_frames) args.insert(args.begin(), "-count_frames");
  args.push_back(file);
  return std::stod(ffprobe(args));
}

// rgb24 frames number `frames` of `file` as the ffmpeg CLI decodes them, in order.
std::vector<std::vector<uint8_t>> decode_frames(const std::string& file, const std::vector<int64_t>& frames) {
  std::string select;
  for (int64_t n : frames) select += (select.empty() ? "" : "+") + std::string("eq(n\\,") + std::to_string(n) + ")";
  const std::string raw = run_ffmpeg({"-i", file, "-vf", "select=" + select, "-vsync", "0", "-f", "rawvideo",
                                      "-pix_fmt", "rgb24", "-"});
  const size_t size = static_cast<size_t>(kWidth) * kHeight * 3;
  EXPECT_EQ(raw.size(), size * frames.size()) << file;
  std::vector<std::vector<uint8_t>> out;
  for (size_t i = 0; i + 1 <= raw.size() / size; ++i)
    out.emplace_back(raw.begin() + static_cast<std::ptrdiff_t>(i * size),
                     raw.begin() + static_cast<std::ptrdiff_t>((i + 1) * size));
  return out;
}

double mean_abs_difference(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += std::abs(static_cast<int>(a[i]) - static_cast<int>(b[i]));
  return sum / static_cast<double>(a.size());
}

// Mono float samples at 48 kHz as the ffmpeg CLI decodes `file`.
std::vector<float> decode_audio(const std::string& file) {
  const std::string raw =
      run_ffmpeg({"-i", file, "-map", "0:a:0", "-ac", "1", "-ar", std::to_string(kSampleRate), "-f", "f32le", "-"});
  std::vector<float> x(raw.size() / sizeof(float));
  std::memcpy(x.data(), raw.data(), x.size() * sizeof(float));
  return x;
}

// The centres (energy centroids, seconds) of the tone bursts in `x`: runs of 10-ms
// windows whose RMS is above 0.1 (the bursts' is 0.35; silence and codec noise are far below).
std::vector<double> burst_centres(const std::vector<float>& x) {
  const size_t w = kSampleRate / 100;
  std::vector<double> centres;
  double energy = 0, moment = 0;
  bool in_burst = false;
  for (size_t start = 0; start + w <= x.size(); start += w) {
    double e = 0, m = 0;
    for (size_t i = start; i < start + w; ++i) {
      e += static_cast<double>(x[i]) * x[i];
      m += static_cast<double>(x[i]) * x[i] * static_cast<double>(i);
    }
    const bool loud = std::sqrt(e / static_cast<double>(w)) > 0.1;
    if (loud) energy += e, moment += m;
    if (in_burst && !loud) centres.push_back(moment / energy / kSampleRate), energy = moment = 0;
    in_burst = loud;
  }
  if (in_burst) centres.push_back(moment / energy / kSampleRate);
  return centres;
}

const std::string kTones =
    "aevalsrc=0.5*sin(2*PI*1000*t)*(between(t\\,12.25\\,12.55)+between(t\\,17.35\\,17.65)+between(t\\,25.85\\,26.15))"
    ":s=48000:d=32";
const std::string kPicture = "testsrc2=size=160x120:rate=30000/1001:duration=32";

class ReelTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (ffmpeg_cli().empty()) return;
    dir_ = new TempDir();
    // Nearly lossless source (its decoded frames are the reference, whatever its codec).
    make_media(source(), {kPicture, kTones},
               {"-c:v", "libx264", "-crf", "10", "-pix_fmt", "yuv420p", "-g", "30", "-c:a", "aac", "-b:a", "256k",
                "-shortest"});
    make_media(silent_source(), {kPicture}, {"-c:v", "libx264", "-crf", "10", "-pix_fmt", "yuv420p"});
  }
  static void TearDownTestSuite() { delete dir_; }
  void SetUp() override { HL_REQUIRE_FFMPEG_CLI(); }

  static std::string source() { return dir_->file("source.mp4"); }
  static std::string silent_source() { return dir_->file("silent.mp4"); }
  static inline TempDir* dir_ = nullptr;
  const std::vector<media::ReelCut> cuts_{{5, 15}, {25, 30}};
};

TEST_F(ReelTest, LengthIsTheSumOfTheCutsWithinOneFrame) {
  const std::string reel = dir_->file("reel.mp4");
  const media::ReelResult r = media::write_reel(source(), cuts_, reel);
  // Frames: [round(5·r), round(15·r)) and [round(25·r), round(30·r)) = 300 + 150.
  const int64_t frames = (frame_at(15) - frame_at(5)) + (frame_at(30) - frame_at(25));
  EXPECT_EQ(r.video_frames, frames);
  EXPECT_EQ(ffprobe_number(reel, "v:0", "nb_read_frames", true), static_cast<double>(frames));
  const double chosen_seconds = 15.0;  // 10 s + 5 s of segments
  EXPECT_NEAR(ffprobe_number(reel, "v:0", "duration"), chosen_seconds, 1.0 / kRate);
  EXPECT_NEAR(ffprobe_number(reel, "a:0", "duration"), chosen_seconds, 1.0 / kRate);
  EXPECT_EQ(ffprobe({"-show_entries", "stream=codec_name", "-of", "csv=p=0", reel}), "h264\naac\n");
}

TEST_F(ReelTest, FramesAreTheSourceFramesAtTheSameTimes) {
  const std::string reel = dir_->file("reel_frames.mp4");
  media::write_reel(source(), cuts_, reel);
  // Reel frame j and the source frame it must be: the first, a middle and the last frame
  // of each cut (across the join between them).
  const int64_t a0 = frame_at(5), a1 = frame_at(15), b0 = frame_at(25), b1 = frame_at(30);
  const int64_t na = a1 - a0;
  const std::vector<std::pair<int64_t, int64_t>> pairs = {
      {0, a0}, {137, a0 + 137}, {na - 1, a1 - 1}, {na, b0}, {na + 70, b0 + 70}, {na + (b1 - b0) - 1, b1 - 1}};
  std::vector<int64_t> reel_frames, source_frames;
  for (const auto& [j, n] : pairs) {
    reel_frames.push_back(j);
    source_frames.push_back(n - 1);  // each frame's neighbours too: a cut one frame off must fail
    source_frames.push_back(n);
    source_frames.push_back(n + 1);
  }
  const auto got = decode_frames(reel, reel_frames);
  const auto want = decode_frames(source(), source_frames);
  ASSERT_EQ(got.size(), pairs.size());
  ASSERT_EQ(want.size(), 3 * pairs.size());
  for (size_t i = 0; i < pairs.size(); ++i) {
    const double same = mean_abs_difference(got[i], want[3 * i + 1]);
    const double before = mean_abs_difference(got[i], want[3 * i]);
    const double after = mean_abs_difference(got[i], want[3 * i + 2]);
    std::printf("reel frame %lld vs source frame %lld: mean |diff| %.2f (neighbours %.2f, %.2f)\n",
                static_cast<long long>(pairs[i].first), static_cast<long long>(pairs[i].second), same, before, after);
    // H.264 at crf 12 is lossy but visually lossless: a mean of about 1 level of 255 was
    // measured (plus the yuv420p round trip of both decodes); 3 leaves room for another
    // x264 build and stays far below what a neighbouring frame differs by (checked next).
    EXPECT_LT(same, 3.0) << "reel frame " << pairs[i].first;
    EXPECT_LT(same, before) << "reel frame " << pairs[i].first << " is closer to the frame before";
    EXPECT_LT(same, after) << "reel frame " << pairs[i].first << " is closer to the frame after";
  }
}

TEST_F(ReelTest, SoundStaysInSyncAcrossTheCuts) {
  const std::string reel = dir_->file("reel_audio.mp4");
  media::write_reel(source(), cuts_, reel);
  // Where the bursts are in the source, as the ffmpeg CLI decodes it: the planted 12.4,
  // 17.5 and 26.0 s.
  const std::vector<double> in_source = burst_centres(decode_audio(source()));
  ASSERT_EQ(in_source.size(), 3u);
  // In the reel: the burst at 12.4 s sits 12.4 - round(5·r)/r after the reel's start; the
  // one at 26.0 s after the first cut's frames plus 26.0 - round(25·r)/r.
  const double first_cut_seconds = static_cast<double>(frame_at(15) - frame_at(5)) / kRate;
  const std::vector<double> expected = {in_source[0] - static_cast<double>(frame_at(5)) / kRate,
                                        first_cut_seconds + in_source[2] - static_cast<double>(frame_at(25)) / kRate};
  const std::vector<double> in_reel = burst_centres(decode_audio(reel));
  ASSERT_EQ(in_reel.size(), 2u) << "the burst at 17.5 s is in no cut";
  for (size_t i = 0; i < 2; ++i) {
    std::printf("burst %zu: reel %.4f s, expected %.4f s\n", i, in_reel[i], expected[i]);
    // 2 ms: an energy centroid of a 0.3-s burst moves by well under a millisecond through
    // AAC; a cut placed one video frame (33 ms) or one AAC frame (21 ms) off fails, and
    // lip sync needs only about 45 ms (ITU-R BT.1359).
    EXPECT_NEAR(in_reel[i], expected[i], 0.002);
  }
}

TEST_F(ReelTest, VideoWithoutAudioGivesAVideoOnlyReel) {
  const std::string reel = dir_->file("reel_silent.mp4");
  const media::ReelResult r = media::write_reel(silent_source(), cuts_, reel);
  EXPECT_EQ(r.audio_samples, 0);
  EXPECT_EQ(ffprobe({"-show_entries", "stream=codec_type", "-of", "csv=p=0", reel}), "video\n");
  EXPECT_EQ(ffprobe_number(reel, "v:0", "nb_read_frames", true),
            static_cast<double>((frame_at(15) - frame_at(5)) + (frame_at(30) - frame_at(25))));
}

// Presentation times (seconds) of every video frame of `file`, as ffprobe reads them.
std::vector<double> frame_times(const std::string& file) {
  const std::string text = ffprobe({"-select_streams", "v:0", "-show_entries", "frame=best_effort_timestamp_time",
                                    "-of", "csv=p=0", file});
  std::vector<double> times;
  size_t start = 0;
  for (size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1)
    if (end > start) times.push_back(std::stod(text.substr(start, end - start)));
  return times;
}

TEST_F(ReelTest, VariableFrameRateKeepsTheFramesOfTheCutsAndTheirSpacing) {
  // 25 fps for 10 s, then 10 fps to 30 s: 450 frames, an average of 15 fps (the EDL's rate).
  const std::string vfr = dir_->file("vfr.mkv");
  make_media(vfr, {"testsrc2=size=160x120:rate=25:duration=18"},
             {"-vf", "setpts='if(lt(N,250),N/25,10+(N-250)/10)/TB'", "-fps_mode", "vfr", "-c:v", "libx264", "-crf",
              "10", "-pix_fmt", "yuv420p"});
  const std::vector<double> source = frame_times(vfr);
  ASSERT_EQ(source.size(), 450u);
  const std::string reel = dir_->file("reel_vfr.mp4");
  media::ReelOptions options;
  options.rate = {15, 1};
  media::write_reel(vfr, {{5, 10}, {20, 25}}, reel, options);
  // Expected: the source frames whose time rounds to a frame number of [round(5·15),
  // round(10·15)) or [round(20·15), round(25·15)) at 15 fps, each at its time less the
  // cut's start, the second cut after the first's 75 frames (5 s).
  std::vector<double> expected;
  for (double t : source) {
    const auto n = static_cast<int64_t>(std::floor(t * 15 + 0.5));
    if (n >= 75 && n < 150) expected.push_back(t - 75 / 15.0);
    if (n >= 300 && n < 375) expected.push_back(5.0 + t - 300 / 15.0);
  }
  ASSERT_EQ(expected.size(), 125u + 50u);  // 5 s at 25 fps, 5 s at 10 fps
  const std::vector<double> got = frame_times(reel);
  ASSERT_EQ(got.size(), expected.size());
  const double offset = got[0] - expected[0];  // an MP4 may start its clock at a small offset
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i] - offset, expected[i], 0.0015) << "reel frame " << i;  // the 1-ms clock of MKV
  EXPECT_NEAR(offset, 0.0, 0.0015);
}

TEST_F(ReelTest, BadInputsFailClearlyAndLeaveNoFile) {
  const std::string audio_only = dir_->file("tones.m4a");
  make_media(audio_only, {kTones}, {"-c:a", "aac"});
  const std::string reel = dir_->file("bad.mp4");
  EXPECT_TRUE(Contains(format_error_of([&] { media::write_reel(audio_only, cuts_, reel); }), audio_only));
  EXPECT_FALSE(fs::exists(reel));
  const std::string unwritable = dir_->file("no-such-folder/reel.mp4");
  const std::string message = error_of([&] { media::write_reel(source(), cuts_, unwritable); });
  EXPECT_TRUE(Contains(message, unwritable));
  EXPECT_FALSE(fs::exists(unwritable));
  const std::string overlapping = error_of([&] { media::write_reel(source(), {{5, 15}, {10, 20}}, reel); });
  EXPECT_TRUE(Contains(overlapping, "must not overlap"));
  EXPECT_FALSE(fs::exists(reel));
}

}  // namespace
}  // namespace hl::test
