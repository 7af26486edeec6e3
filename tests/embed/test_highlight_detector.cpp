// hl::HighlightDetector (include/hl/highlights.h) on videos made by the ffmpeg command
// line (lossless FFV1 RGB video at 29.97 fps, 16-kHz PCM audio, so that the CLI's
// decode is the library's, sample for sample and pixel for pixel; in AVI, whose frame
// timestamps are exact multiples of 1001/30000 s, where Matroska's are whole
// milliseconds and would make hl-extract hold other frames than the ones pushed at
// exact times):
// - a stream fed the frames and audio the ffmpeg CLI decodes gives every segment the
//   score score_file gives it, bit for bit (mfcc, and googlenet + mfcc with random
//   GoogLeNet weights in hl-convert's layout), whatever the audio's chunking and
//   whether the audio comes before the frames or with them;
// - each segment is polled right after the push of its last frame (the frame count that
//   completes it is computed here from 5 s · 30000/1001);
// - between segments, a steady mfcc stream's pushes call operator new zero times;
// - misuse is refused with a clear message.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <span>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <new>
#include <unistd.h>
#include <string>
#include <vector>

#include "../cuda/random_cnn_weights.h"
#include "engine/error.h"
#include "counting_new.h"
#include "hl/highlights.h"
#include "media/media_fixtures.h"
#include "nets/highlight_model.h"
#include "pipeline/extract.h"
#include "pipeline/segment_dataset.h"
#include "pipeline/stream_features.h"
#include "pipeline/visual_features.h"

// Every allocation of this program goes through tests/embed/counting_new.cpp; counting
// is on only while a test asks.
using hl::test::g_allocations;
using hl::test::g_counting;

namespace hl {
namespace {

namespace fs = std::filesystem;

constexpr int kWidth = 96, kHeight = 64;
// Scores: the stream runs the model on one segment, score_file on all of a file's
// segments in one batch; OpenBLAS picks its micro-kernel by a row's place in the batch,
// so the same segment's products round differently (pipeline/stream_features.h): 1 to
// 2 ulps measured (at most 1.2e-7 on scores near 0.4). The features themselves are
// compared bit for bit (StreamFeaturesAreTheFeatureFilesBitForBit).
constexpr double kMfccTolerance = 1e-6;
// GoogLeNet: score_file runs frames through the CPU network in batches of 16, the stream
// one frame at a time; the rows are the same bits at equal batches
// (StreamGoogLeNetRowsAreTheFilesAtBatchOne), and differ in their last bits between
// batches, as above: 4.5e-7 measured on the score; 10x that.
constexpr double kVisualTolerance = 5e-6;
constexpr int64_t kFpsNum = 30000, kFpsDen = 1001;

// The first frame count that completes segment s: ceil(5 (s + 1) · 30000/1001).
int64_t frames_completing(int64_t s) {
  const int64_t num = 5 * (s + 1) * kFpsNum;
  return (num + kFpsDen - 1) / kFpsDen;
}
// Frame k's pts in whole microseconds (k · 1001/30000 s, rounded).
int64_t frame_pts_us(int64_t k) { return (k * kFpsDen * 1'000'000 + kFpsNum / 2) / kFpsNum; }

struct Decoded {
  std::string rgb;           // frames, rgb24, packed
  std::vector<float> audio;  // 16-kHz mono in [-1, 1]
  int64_t frames() const { return static_cast<int64_t>(rgb.size()) / (kWidth * kHeight * 3); }
};

// The video's frames and audio as the ffmpeg command line decodes them.
Decoded decode_with_cli(const std::string& video) {
  Decoded d;
  d.rgb = test::run_ffmpeg({"-i", video, "-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"});
  const std::string pcm = test::run_ffmpeg({"-i", video, "-map", "0:a:0", "-f", "s16le", "-ac", "1", "-ar", "16000", "-"});
  d.audio.resize(pcm.size() / 2);
  for (size_t i = 0; i < d.audio.size(); ++i) {
    int16_t s;
    std::memcpy(&s, pcm.data() + 2 * i, 2);
    d.audio[i] = static_cast<float>(s) / 32768.0f;
  }
  return d;
}

// A lossless 29.97-fps RGB video with 16-kHz mono PCM audio (pink noise with a louder
// stretch), `seconds` long.
void make_video(const std::string& path, int seconds) {
  const std::string d = std::to_string(seconds);
  test::make_media(path,
                   {"testsrc=size=96x64:rate=30000/1001:duration=" + d,
                    "anoisesrc=color=pink:sample_rate=16000:amplitude=0.2:duration=" + d +
                        ",volume=enable='between(t,6,9)':volume=4"},
                   {"-c:v", "ffv1", "-pix_fmt", "bgr0", "-c:a", "pcm_s16le", "-ar", "16000", "-ac", "1"});
}

// A model with random weights and input statistics away from the identity, saved as
// HighlightModel::save writes it (no --final record: features at 30000/1001 fps).
void make_model(const std::string& path, const std::vector<Feature>& features) {
  HighlightModel model(HighlightModelConfig::paper(features), 11);
  std::map<Feature, ChannelStatistics> stats;
  for (Feature f : features) {
    const int64_t c = feature_spec(f).frame_shape.at(0);
    ChannelStatistics s;
    for (int64_t i = 0; i < c; ++i) {
      s.mean.push_back(f == Feature::Mfcc ? 3.0 * std::sin(static_cast<double>(i)) : 0.1 * std::cos(0.3 * i));
      s.std.push_back(f == Feature::Mfcc ? 2.0 + std::abs(std::cos(static_cast<double>(i))) * 8 : 0.5);
    }
    stats[f] = s;
  }
  model.set_input_normalisation(InputNormalisation(stats));
  model.save(path);
}

class HighlightDetectorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (test::ffmpeg_cli().empty()) return;
    dir_ = new fs::path(fs::temp_directory_path() / ("hl-detector-test." + std::to_string(::getpid())));
    fs::create_directories(*dir_);
    make_video(file("long.avi"), 21);   // 4 segments
    make_video(file("short.avi"), 6);  // 1 segment (the googlenet model: CPU GoogLeNet is slow)
    make_model(file("mfcc.safetensors"), {Feature::Mfcc});
    make_model(file("visual.safetensors"), {Feature::GoogLeNet, Feature::Mfcc});
    fs::create_directories(file("weights"));
    test::write_cnn_weight_file(file("weights/googlenet.safetensors"), "googlenet",
                                test::random_googlenet_weights(/*folded=*/true), 1000);
  }
  static void TearDownTestSuite() {
    if (!dir_) return;
    std::error_code ec;
    fs::remove_all(*dir_, ec);
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override { HL_REQUIRE_FFMPEG_CLI(); }
  static std::string file(const std::string& name) { return (*dir_ / name).string(); }
  static fs::path* dir_;
};
fs::path* HighlightDetectorTest::dir_ = nullptr;

struct Polled {
  std::vector<SegmentScore> segments;
  std::vector<int64_t> frames_when_polled;  // frames pushed when each segment came out of poll()
};

// Pushes the decoded frames and audio: audio `audio_lead` frames ahead of the frames, in
// chunks of `chunk` samples (audio_lead < 0: all the audio first), polling after each push.
Polled run_stream(const HighlightDetector& detector, const Decoded& d, int64_t audio_lead, size_t chunk) {
  HighlightStream s = detector.stream({kFpsNum, kFpsDen}, 16000);
  Polled p;
  size_t audio_done = 0;
  const auto push_audio_to = [&](size_t end) {
    end = std::min(end, d.audio.size());
    while (audio_done < end) {
      const size_t n = std::min(chunk, end - audio_done);
      s.push_audio(d.audio.data() + audio_done, n, static_cast<int64_t>(audio_done) * 1'000'000 / 16000);
      audio_done += n;
    }
  };
  const size_t frame_bytes = static_cast<size_t>(kWidth) * kHeight * 3;
  if (audio_lead < 0) push_audio_to(d.audio.size());
  for (int64_t k = 0; k < d.frames(); ++k) {
    if (audio_lead >= 0) push_audio_to(static_cast<size_t>((k + 1 + audio_lead) * 16000 * kFpsDen / kFpsNum));
    s.push_video_frame(reinterpret_cast<const uint8_t*>(d.rgb.data()) + static_cast<size_t>(k) * frame_bytes, kWidth,
                       kHeight, frame_pts_us(k));
    while (auto seg = s.poll()) {
      p.segments.push_back(*seg);
      p.frames_when_polled.push_back(k + 1);
    }
  }
  push_audio_to(d.audio.size());
  for (const SegmentScore& seg : s.finish()) {
    p.segments.push_back(seg);
    p.frames_when_polled.push_back(-1);
  }
  return p;
}

// The stream's scores against score_file's: within `tolerance` (absolute); prints the
// largest difference seen.
void expect_same_scores(const std::vector<float>& file_scores, const Polled& p, double tolerance,
                        const std::string& what) {
  ASSERT_EQ(p.segments.size(), file_scores.size()) << what;
  double worst = 0;
  for (size_t s = 0; s < file_scores.size(); ++s) {
    EXPECT_EQ(p.segments[s].segment, static_cast<int64_t>(s)) << what;
    EXPECT_EQ(p.segments[s].start_seconds, 5.0 * static_cast<double>(s)) << what;
    const double diff = std::abs(static_cast<double>(file_scores[s]) - p.segments[s].score);
    worst = std::max(worst, diff);
    EXPECT_LE(diff, tolerance) << what << ": segment " << s << ": file " << file_scores[s] << ", stream "
                               << p.segments[s].score;
  }
  std::printf("%s: largest |stream - file| %.3g over %zu segments\n", what.c_str(), worst, file_scores.size());
}

TEST_F(HighlightDetectorTest, MfccStreamGivesScoreFilesScoresAsSoonAsEachSegmentIsComplete) {
  const HighlightDetector detector(file("mfcc.safetensors"));
  EXPECT_EQ(detector.features(), std::vector<std::string>({"mfcc"}));
  const std::vector<float> file_scores = detector.score_file(file("long.avi"));
  ASSERT_EQ(file_scores.size(), 4u);  // 21 s: four complete 5-s segments
  const Decoded d = decode_with_cli(file("long.avi"));
  ASSERT_EQ(d.frames(), 630);  // 21 s at 29.97 fps, as the fps of the source says (ceil(21 · 29.97))

  // Audio a frame ahead: the frame that completes a segment is its last piece.
  const Polled p = run_stream(detector, d, 1, 534);
  expect_same_scores(file_scores, p, kMfccTolerance, "audio a frame ahead");
  for (size_t s = 0; s < p.segments.size(); ++s)
    EXPECT_EQ(p.frames_when_polled[s], frames_completing(static_cast<int64_t>(s))) << "segment " << s;
  // Other chunkings and orders give the same bits.
  expect_same_scores(file_scores, run_stream(detector, d, -1, 4096), kMfccTolerance, "all audio first, 4096-sample chunks");
  expect_same_scores(file_scores, run_stream(detector, d, 3, 77), kMfccTolerance, "77-sample chunks");
  // Audio that trails the frames: a segment waits for its audio, then comes out.
  const Polled late = run_stream(detector, d, 0, 100);
  expect_same_scores(file_scores, late, kMfccTolerance, "audio with the frames");
}

// Frames at 59.94 fps: the stream samples them at the model's 29.97 by timestamp, as
// hl-extract's reader does, and gives score_file's scores.
TEST_F(HighlightDetectorTest, FramesAboveTheFeatureRateAreSampledByTimestamp) {
  test::make_media(file("fast.avi"),
                   {"testsrc=size=32x24:rate=60000/1001:duration=11",
                    "anoisesrc=color=pink:sample_rate=16000:amplitude=0.2:duration=11"},
                   {"-c:v", "ffv1", "-pix_fmt", "bgr0", "-c:a", "pcm_s16le", "-ar", "16000", "-ac", "1"});
  const HighlightDetector detector(file("mfcc.safetensors"));
  const std::vector<float> file_scores = detector.score_file(file("fast.avi"));
  ASSERT_EQ(file_scores.size(), 2u);
  const std::string pcm = test::run_ffmpeg({"-i", file("fast.avi"), "-map", "0:a:0", "-f", "s16le", "-"});
  std::vector<float> audio(pcm.size() / 2);
  for (size_t i = 0; i < audio.size(); ++i) {
    int16_t x;
    std::memcpy(&x, pcm.data() + 2 * i, 2);
    audio[i] = static_cast<float>(x) / 32768.0f;
  }
  HighlightStream s = detector.stream({60000, 1001}, 16000);
  s.push_audio(audio.data(), audio.size(), 0);
  const uint8_t pixels[32 * 24 * 3] = {};
  Polled p;
  const int64_t frames = 11 * 60000 / 1001 + 1;  // 660 frames: ceil(11 · 59.94)
  for (int64_t k = 0; k < frames; ++k) {
    s.push_video_frame(pixels, 32, 24, (k * 1001 * 1'000'000 + 30000) / 60000);
    while (auto seg = s.poll()) {
      p.segments.push_back(*seg);
      p.frames_when_polled.push_back(k + 1);
    }
  }
  for (const SegmentScore& seg : s.finish()) p.segments.push_back(seg);
  expect_same_scores(file_scores, p, kMfccTolerance, "59.94-fps frames");
  // Segment 0 is ticks 0..149 of 29.97 fps; tick 149 (149 · 1001/30000 s) shows the
  // 59.94-fps frame 298 (at the same time), and the next frame comes after it: the
  // segment is complete once 299 frames are in.
  ASSERT_GE(p.frames_when_polled.size(), 1u);
  EXPECT_EQ(p.frames_when_polled[0], 299);
}

// The MFCC rows a stream assembles for each segment are those SegmentDataset reads from
// hl-extract's feature file of the same video, bit for bit (before standardisation).
TEST_F(HighlightDetectorTest, StreamFeaturesAreTheFeatureFilesBitForBit) {
  fs::create_directories(file("features"));
  ExtractOptions ex;
  ex.features = {Feature::Mfcc};
  (void)extract_video(file("long.avi"), file("features"), ex);
  const SegmentDataset data = SegmentDataset::open(file("features"), {{"long", std::vector<double>(4, 0.0)}}, {Feature::Mfcc});
  const Decoded d = decode_with_cli(file("long.avi"));
  for (const size_t chunk : {size_t{534}, size_t{5000}}) {
    StreamFeatures sf({Feature::Mfcc}, {kFpsNum, kFpsDen}, {kFpsNum, kFpsDen}, 16000, nullptr);
    int64_t compared = 0;
    size_t audio_done = 0;
    const size_t frame_bytes = static_cast<size_t>(kWidth) * kHeight * 3;
    const auto check = [&](bool at_end) {
      while (const StreamFeatures::Segment* seg = sf.next_complete(at_end)) {
        const size_t index = static_cast<size_t>(seg->index);
        const Tensor want = data.batch(std::span<const size_t>(&index, 1)).inputs.at(Feature::Mfcc);  // [1, 600, 13]
        const Tensor& got = seg->inputs.at(Feature::Mfcc);
        EXPECT_EQ(std::memcmp(got.data<float>(), want.data<float>(), want.nbytes()), 0)
            << "segment " << seg->index << ", chunks of " << chunk;
        sf.release_segment();
        ++compared;
      }
    };
    for (int64_t k = 0; k < d.frames(); ++k) {
      const size_t end = std::min(d.audio.size(), static_cast<size_t>(k + 2) * chunk);
      if (end > audio_done) sf.push_audio(d.audio.data() + audio_done, end - audio_done, static_cast<int64_t>(audio_done) * 1'000'000 / 16000);
      audio_done = std::max(audio_done, end);
      sf.push_video_frame(reinterpret_cast<const uint8_t*>(d.rgb.data()) + static_cast<size_t>(k) * frame_bytes, kWidth,
                          kHeight, frame_pts_us(k));
      check(false);
    }
    sf.push_audio(d.audio.data() + audio_done, d.audio.size() - audio_done, 0);
    check(true);
    EXPECT_EQ(compared, 4);
  }
}

// With the network at batch 1 in both, the GoogLeNet rows a stream assembles are those of
// hl-extract's feature file bit for bit: what separates the stream's googlenet scores
// from score_file's (batches of 16) is the batch, not the frames or their timing.
TEST_F(HighlightDetectorTest, StreamGoogLeNetRowsAreTheFilesAtBatchOne) {
  VisualFeatureOptions vo;
  vo.weights_dir = file("weights");
  vo.batch = 1;
  VisualFeatureExtractor visual({Feature::GoogLeNet}, vo);
  fs::create_directories(file("features-g1"));
  ExtractOptions ex;
  ex.features = {Feature::GoogLeNet};
  ex.visual = &visual;
  (void)extract_video(file("short.avi"), file("features-g1"), ex);
  const SegmentDataset data =
      SegmentDataset::open(file("features-g1"), {{"short", std::vector<double>(1, 0.0)}}, {Feature::GoogLeNet});
  const Decoded d = decode_with_cli(file("short.avi"));
  StreamFeatures sf({Feature::GoogLeNet}, {kFpsNum, kFpsDen}, {kFpsNum, kFpsDen}, 16000, &visual);
  const size_t frame_bytes = static_cast<size_t>(kWidth) * kHeight * 3;
  int64_t compared = 0;
  for (int64_t k = 0; k < d.frames(); ++k) {
    sf.push_video_frame(reinterpret_cast<const uint8_t*>(d.rgb.data()) + static_cast<size_t>(k) * frame_bytes, kWidth,
                        kHeight, frame_pts_us(k));
    while (const StreamFeatures::Segment* seg = sf.next_complete(false)) {
      const size_t index = static_cast<size_t>(seg->index);
      const Tensor want = data.batch(std::span<const size_t>(&index, 1)).inputs.at(Feature::GoogLeNet);
      const Tensor& got = seg->inputs.at(Feature::GoogLeNet);
      EXPECT_EQ(std::memcmp(got.data<float>(), want.data<float>(), want.nbytes()), 0) << "segment " << seg->index;
      sf.release_segment();
      ++compared;
    }
  }
  EXPECT_EQ(compared, 1);
}

TEST_F(HighlightDetectorTest, GoogLeNetAndMfccStreamGivesScoreFilesScores) {
  DetectorOptions options;
  options.weights_dir = file("weights");
  const HighlightDetector detector(file("visual.safetensors"), options);
  const std::vector<float> file_scores = detector.score_file(file("short.avi"));
  ASSERT_EQ(file_scores.size(), 1u);
  const Decoded d = decode_with_cli(file("short.avi"));
  const Polled p = run_stream(detector, d, 1, 534);
  expect_same_scores(file_scores, p, kVisualTolerance, "googlenet + mfcc");
  for (size_t s = 0; s < p.segments.size(); ++s)
    EXPECT_EQ(p.frames_when_polled[s], frames_completing(static_cast<int64_t>(s))) << "segment " << s;
}

TEST_F(HighlightDetectorTest, SteadyMfccStreamAllocatesNothingBetweenSegments) {
  const HighlightDetector detector(file("mfcc.safetensors"));
  const Decoded d = decode_with_cli(file("long.avi"));
  HighlightStream s = detector.stream({kFpsNum, kFpsDen}, 16000);
  const size_t frame_bytes = static_cast<size_t>(kWidth) * kHeight * 3;
  const size_t per_frame = 534;  // audio chunks of a steady size, slightly ahead of the frames
  size_t audio_done = 0;
  int64_t counted = 0, polled = 0;
  for (int64_t k = 0; k < 290; ++k) {
    // Frames 200..289 lie inside segment 1 (complete at frame 300), after segment 0
    // (complete at 150) was scored: the steady state.
    const bool count = k >= 200;
    if (count) g_allocations = 0, g_counting = true;
    const size_t end = std::min(d.audio.size(), static_cast<size_t>(k + 2) * per_frame);
    if (end > audio_done) s.push_audio(d.audio.data() + audio_done, end - audio_done, static_cast<int64_t>(audio_done) * 1'000'000 / 16000);
    audio_done = std::max(audio_done, end);
    s.push_video_frame(reinterpret_cast<const uint8_t*>(d.rgb.data()) + static_cast<size_t>(k) * frame_bytes, kWidth,
                       kHeight, frame_pts_us(k));
    const bool got = s.poll().has_value();
    g_counting = false;
    if (count) counted += g_allocations.load();
    polled += got;
  }
  EXPECT_EQ(polled, 1);  // segment 0 only
  EXPECT_EQ(counted, 0) << "operator new calls in 90 steady frames (and their audio and polls)";
  // The counter works: a vector allocates.
  g_allocations = 0;
  g_counting = true;
  std::vector<int>* v = new std::vector<int>(10);
  g_counting = false;
  delete v;
  EXPECT_EQ(g_allocations.load(), 2);
}

TEST_F(HighlightDetectorTest, MisuseIsRefusedClearly) {
  const HighlightDetector detector(file("mfcc.safetensors"));
  EXPECT_NE(test::error_of([&] { (void)detector.stream({kFpsNum, kFpsDen}, 44100); }).find("16000"), std::string::npos);
  EXPECT_NE(test::error_of([&] { (void)detector.stream({1, 10}, 16000); }).find("outside 1/5 to 1000 fps"),
            std::string::npos);
  const uint8_t pixels[3 * 4 * 4] = {};
  {
    HighlightStream s = detector.stream({kFpsNum, kFpsDen}, 16000);
    s.push_video_frame(pixels, 4, 4, 1000);
    const std::string e = test::error_of([&] { s.push_video_frame(pixels, 4, 4, 1000); });
    EXPECT_NE(e.find("not after the previous frame"), std::string::npos) << e;
    EXPECT_NE(test::error_of([&] { s.push_video_frame(pixels, 0, 4, 2000); }).find("empty frame"), std::string::npos);
    const std::string jump = test::error_of([&] { s.push_video_frame(pixels, 4, 4, int64_t{7} * 3600 * 1'000'000); });
    EXPECT_NE(jump.find("more than 6 hours"), std::string::npos) << jump;
  }
  {  // the mfcc model without audio: finish says so; pushes after finish are refused
    HighlightStream s = detector.stream({kFpsNum, kFpsDen}, 16000);
    for (int64_t k = 0; k < 160; ++k) s.push_video_frame(pixels, 4, 4, frame_pts_us(k));
    EXPECT_FALSE(s.poll().has_value());  // waits for audio
    EXPECT_NE(test::error_of([&] { (void)s.finish(); }).find("needs audio"), std::string::npos);
    EXPECT_NE(test::error_of([&] { s.push_video_frame(pixels, 4, 4, frame_pts_us(200)); }).find("finished"),
              std::string::npos);
  }
  test::write_file(file("broken.safetensors"), std::string("not a model"));
  const std::string e = test::error_of([&] { HighlightDetector bad(file("broken.safetensors")); });
  EXPECT_NE(e.find("broken.safetensors"), std::string::npos) << e;
  // Visual weights missing: the message names the file and the hl-convert command.
  DetectorOptions options;
  options.weights_dir = file("no-weights");
  const std::string w = test::error_of([&] { HighlightDetector bad(file("visual.safetensors"), options); });
  EXPECT_NE(w.find("googlenet.safetensors"), std::string::npos) << w;
  EXPECT_NE(w.find("hl-convert"), std::string::npos) << w;
}

}  // namespace
}  // namespace hl
