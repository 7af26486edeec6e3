// hl-extract --features cam (pipeline/cam_features.h) run as a user would, against values
// computed here from what the ffmpeg command line decodes: the frames at 29.97 fps as
// rgb24 and the audio at 21 kHz stereo (`-ar 21000 -ac 2`, the publisher's command), the
// clips and their first samples chosen and the CAM steps interpolated to the feature
// frames by arithmetic written in this file, the network run through MultisensoryCpu
// (golden-tested against TensorFlow, tests/nets/test_multisensory_net.cpp) with the
// 1/32-width TensorFlow fixture converted by hl-convert multisensory-cam (224 x 224 in,
// 16 x 14 x 14 out).
// The videos are 224 x 224 (the resize is then the identity; the resize itself is
// checked against TensorFlow in tests/pipeline/test_cam_features.cpp), stored losslessly
// (FFV1 RGB, PCM) in NUT at exactly 30000/1001 fps so both decoders see the same frames:
//   long   300 frames (10.01 s), stereo: clips at 0, 125 and the end-aligned 175; --fps 10
//   short  50 frames, mono: one clip padded with its last frame; --fps 30000/1001
//   medium 150 frames, stereo: clips at 0 and the end-aligned 25; --fps 10 and 12.5 with
//          googlenet in the same run (one decoding pass feeding both samplers)
//   mute   no audio: a clear error naming the file
// and the errors for missing weights and a shift-net file. hl-extract logs one "video
// decoding pass:" line per pass over a video: the tests count them (one, whatever --fps
// and the features), and check that cam's clips show on the progress bar.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/safetensors.h"
#include "cuda/random_cnn_weights.h"
#include "engine/sha256.h"
#include "media/media_fixtures.h"
#include "nets/multisensory.h"
#include "support/test_support.h"

namespace hl {
namespace {

using test::run_command;

constexpr int64_t kClip = 125, kSamples = 87588, kSize = 224;

std::string fixture_prefix() {
  return (test::source_dir() / "tests" / "nets" / "multisensory_fixtures" / "cam_w32").string();
}

// f32 little-endian values of a file.
std::vector<float> read_f32(const std::string& path) {
  const std::vector<uint8_t> bytes = test::read_file(path);
  std::vector<float> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), v.size() * 4);
  return v;
}

// What the test computes for one video, from the ffmpeg command line's decoding.
std::vector<float> expected_cam(const MultisensoryCpu& net, const std::string& video, const test::TempDir& dir,
                                double fps, int64_t rows) {
  const std::string rgb = dir.file("frames.rgb"), pcm = dir.file("audio.f32");
  test::run_ffmpeg({"-i", video, "-r", "30000/1001", "-f", "rawvideo", "-pix_fmt", "rgb24", rgb});
  test::run_ffmpeg({"-i", video, "-vn", "-ar", "21000", "-ac", "2", "-f", "f32le", pcm});
  const std::vector<uint8_t> pixels = test::read_file(rgb);
  const std::vector<float> audio = read_f32(pcm);  // interleaved [n, 2]
  const int64_t frame_bytes = kSize * kSize * 3;
  const int64_t n = static_cast<int64_t>(pixels.size()) / frame_bytes;
  EXPECT_GT(n, 0);
  const int64_t n_audio = static_cast<int64_t>(audio.size()) / 2;

  // Clips: 0, 125, ... while whole; then one ending at the last frame; or one padded clip.
  std::vector<int64_t> starts;
  for (int64_t s = 0; s + kClip <= n; s += kClip) starts.push_back(s);
  if (starts.empty()) {
    starts.push_back(0);
  } else if (n % kClip != 0) {
    starts.push_back(n - kClip);
  }
  std::vector<std::vector<float>> cams;
  for (int64_t s : starts) {
    std::vector<float> images(static_cast<size_t>(kClip * frame_bytes));
    for (int64_t i = 0; i < kClip; ++i) {
      const int64_t frame = std::min(s + i, n - 1);  // the last frame repeated past the end
      for (int64_t b = 0; b < frame_bytes; ++b)
        images[i * frame_bytes + b] = -1.0f + (2.0f / 255.0f) * static_cast<float>(pixels[frame * frame_bytes + b]);
    }
    // The clip's audio starts at its first frame's time: s / 29.97 s * 21000, rounded.
    const auto first = static_cast<int64_t>(std::floor(static_cast<double>(s) * 21000.0 * 1001.0 / 30000.0 + 0.5));
    std::vector<float> samples(static_cast<size_t>(kSamples * 2), 0.0f);
    for (int64_t j = 0; j < kSamples; ++j)
      if (first + j < n_audio) {
        samples[2 * j] = audio[2 * (first + j)];
        samples[2 * j + 1] = audio[2 * (first + j) + 1];
      }
    const MultisensoryResult r = net.run(images.data(), kClip, kSize, kSize, samples.data(), kSamples);
    EXPECT_EQ((std::vector<int64_t>{r.steps, r.height, r.width}), (std::vector<int64_t>{16, 14, 14}));
    cams.push_back(r.cam);
  }

  // Row k: time k / fps -> position g in 29.97-fps frames -> its clip and local frame ->
  // the publisher's interpolation f = 16 i / 125 between two of the 16 steps.
  std::vector<float> out;
  const int64_t regular = n / kClip;
  for (int64_t k = 0; k < rows; ++k) {
    const double g = static_cast<double>(k) / fps * 30000.0 / 1001.0;
    auto c = static_cast<int64_t>(std::floor(g / kClip + 1e-9));
    if (c >= regular) c = static_cast<int64_t>(starts.size()) - 1;
    const double local = g - static_cast<double>(starts[c]);
    const double f = std::clamp(16.0 * local / kClip, 0.0, 15.0);
    const auto l = static_cast<int64_t>(std::floor(f));
    const int64_t r = std::min<int64_t>(l + 1, 15);
    const double p = f - static_cast<double>(l);
    for (int64_t i = 0; i < 196; ++i)
      out.push_back(static_cast<float>((1.0 - p) * cams[c][l * 196 + i] + p * cams[c][r * 196 + i]));
  }
  return out;
}

class ExtractCam : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (test::ffmpeg_cli().empty()) return;
    dir_ = new test::TempDir;
    const auto f = [](const char* name) { return dir_->file(name); };
    const std::vector<std::string> lossless = {"-c:v", "ffv1", "-pix_fmt", "bgr0", "-c:a", "pcm_s16le"};
    auto with = [&](std::vector<std::string> extra) {
      extra.insert(extra.begin(), lossless.begin(), lossless.end());
      return extra;
    };
    // Moving content (testsrc2) and a different tone per channel.
    test::make_media(f("long.nut"),
                     {"testsrc2=size=224x224:rate=30000/1001", "aevalsrc=0.5*sin(440*2*PI*t)|0.3*sin(1250*2*PI*t):s=44100"},
                     with({"-frames:v", "300", "-t", "10.01"}));
    test::make_media(f("short.nut"), {"testsrc2=size=224x224:rate=30000/1001", "sine=frequency=700:sample_rate=22050"},
                     with({"-frames:v", "50", "-t", "1.668"}));
    test::make_media(f("medium.nut"),
                     {"testsrc2=size=224x224:rate=30000/1001", "aevalsrc=0.4*sin(330*2*PI*t)|0.2*sin(2000*2*PI*t):s=48000"},
                     with({"-frames:v", "150", "-t", "5.005"}));
    test::make_media(f("mute.nut"), {"testsrc2=size=224x224:rate=30000/1001"}, {"-c:v", "ffv1", "-frames:v", "20"});
    convert_ = run_command({HL_CONVERT_PATH, "multisensory-cam", fixture_prefix(), "--weights", f("weights")});
    // The "video decoding pass:" lines the tests count are debug-level (one per pass and
    // video would clutter a user's log); the hl-extract runs below inherit this.
    setenv("HL_LOG_LEVEL", "debug", 1);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    HL_REQUIRE_FFMPEG_CLI();
    ASSERT_EQ(convert_.exit_code, 0) << convert_.err;
  }
  static std::string file(const char* name) { return dir_->file(name); }
  static test::CommandResult extract(const std::string& video, const std::string& fps,
                                     const std::string& weights = file("weights"),
                                     const std::string& features = "cam") {
    std::vector<std::string> argv = {HL_EXTRACT_PATH, "--weights", weights, "--features", features,
                                     "--fps",        fps,     "--out",     file("out"),  video};
    return run_command(argv);
  }
  // Returns hl-extract's stderr.
  static std::string expect_matches_reference(const char* name, const std::string& fps_text, double fps,
                                              const std::string& features = "cam") {
    const test::CommandResult r = extract(file(name), fps_text, file("weights"), features);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    if (r.exit_code != 0) return r.err;
    const std::string stem = std::filesystem::path(name).stem().string();
    const SafetensorsFile out = SafetensorsFile::open(file("out") + "/" + stem + ".safetensors");
    const int64_t t = std::stoll(out.metadata().at("frames"));
    const Tensor cam = out.get("cam");
    EXPECT_EQ(cam.shape().vec(), (std::vector<int64_t>{t, 14, 14}));
    EXPECT_EQ(cam.dtype(), DType::F32);
    if (cam.shape().vec() != std::vector<int64_t>{t, 14, 14} || cam.dtype() != DType::F32) return r.err;
    EXPECT_NE(out.metadata().at("cam.extractor").find("hl cam v1"), std::string::npos);
    EXPECT_EQ(out.metadata().at("cam.weights"), sha256_file(file("weights") + "/multisensory-cam.safetensors"));
    const MultisensoryCpu net = MultisensoryCpu::load(file("weights") + "/multisensory-cam.safetensors");
    test::TempDir scratch;
    const std::vector<float> want = expected_cam(net, file(name), scratch, fps, t);
    const std::vector<float> got(cam.data<float>(), cam.data<float>() + cam.numel());
    // The same network on the same pixels; the audio through two libswresample runs
    // (s16 -> f32 here, in the ffmpeg CLI's filter graph there) may differ in the last
    // bit: the f32 bound of the network tests.
    test::expect_close(got, want, 1e-4, std::string("cam of ") + name);
    // Not a constant map (a broken net or a zero input would give one).
    EXPECT_LT(*std::min_element(want.begin(), want.end()), *std::max_element(want.begin(), want.end()));
    return r.err;
  }

  static test::TempDir* dir_;
  static test::CommandResult convert_;
};
test::TempDir* ExtractCam::dir_ = nullptr;
test::CommandResult ExtractCam::convert_;

// Occurrences of `needle` in `text`.
size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

TEST_F(ExtractCam, LongVideoAtTenFpsMatchesTheReference) {
  const std::string err = expect_matches_reference("long.nut", "10", 10.0);
  // Counting T at 10 fps and cam's 29.97-fps frames come from one decoding pass.
  EXPECT_EQ(count_of(err, "video decoding pass:"), 1u) << err;
}

TEST_F(ExtractCam, VideoShorterThanAClipIsPaddedWithItsLastFrame) {
  expect_matches_reference("short.nut", "30000/1001", 30000.0 / 1001.0);
}

// With --fps 29.97 and a visual feature, cam takes its frames from the visual features'
// decode pass (pipeline/extract.cpp) instead of decoding again: the same values.
TEST_F(ExtractCam, SharedDecodePassWithGoogLeNetMatchesTheReference) {
  test::write_cnn_weight_file(file("weights") + "/googlenet.safetensors", "googlenet",
                              test::random_googlenet_weights(/*folded=*/true), 1000);
  std::filesystem::remove_all(file("out"));
  const std::string err = expect_matches_reference("short.nut", "30000/1001", 30000.0 / 1001.0, "googlenet,cam");
  // The tool says which pass cam took (its log, on stderr).
  EXPECT_NE(err.find("frames from the visual features' decoding pass"), std::string::npos) << err;
  const SafetensorsFile out = SafetensorsFile::open(file("out") + "/short.safetensors");
  EXPECT_EQ(out.get("googlenet").size(0), out.get("cam").size(0));
}

// At a --fps other than 29.97, googlenet's frames (at --fps) and cam's (at 29.97) come
// from one decoding pass (pipeline/extract.cpp's VideoPass): each feature has the same
// bytes as when it is extracted alone, and cam still equals the ffmpeg CLI reference.
class ExtractCamSharedPass : public ExtractCam, public ::testing::WithParamInterface<std::pair<const char*, double>> {};

TEST_P(ExtractCamSharedPass, EachFeatureEqualsItsRunAloneByteForByte) {
  const auto& [fps_text, fps] = GetParam();
  test::write_cnn_weight_file(file("weights") + "/googlenet.safetensors", "googlenet",
                              test::random_googlenet_weights(/*folded=*/true), 1000);
  auto run = [&](const std::string& features, const std::string& out_dir) {
    const test::CommandResult r = run_command({HL_EXTRACT_PATH, "--weights", file("weights"), "--features", features,
                                               "--fps", fps_text, "--out", out_dir, file("medium.nut")});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(count_of(r.err, "video decoding pass:"), 1u) << features << ": " << r.err;
    return SafetensorsFile::open(out_dir + "/medium.safetensors");
  };
  const std::string tag = std::to_string(static_cast<int>(fps * 10));
  const SafetensorsFile both = run("googlenet,cam", file(("both" + tag).c_str()));
  const SafetensorsFile cam_alone = run("cam", file(("cam" + tag).c_str()));
  const SafetensorsFile googlenet_alone = run("googlenet", file(("googlenet" + tag).c_str()));
  auto bytes = [](const SafetensorsFile& f, const char* name) {
    const auto b = f.bytes(name);
    return std::vector<uint8_t>(b.begin(), b.end());
  };
  EXPECT_EQ(both.get("cam").shape().vec(), cam_alone.get("cam").shape().vec());
  EXPECT_TRUE(bytes(both, "cam") == bytes(cam_alone, "cam")) << "cam differs when extracted with googlenet";
  EXPECT_EQ(both.get("googlenet").shape().vec(), googlenet_alone.get("googlenet").shape().vec());
  EXPECT_TRUE(bytes(both, "googlenet") == bytes(googlenet_alone, "googlenet"))
      << "googlenet differs when extracted with cam";
  // T frames at --fps: ceil(150 frames / 29.97 * fps).
  const auto want_t = static_cast<int64_t>(std::ceil(150.0 * 1001.0 / 30000.0 * fps - 1e-9));
  EXPECT_EQ(std::stoll(both.metadata().at("frames")), want_t);

  // cam from the shared pass against the ffmpeg CLI's frames and audio.
  const Tensor cam = both.get("cam");
  const MultisensoryCpu net = MultisensoryCpu::load(file("weights") + "/multisensory-cam.safetensors");
  test::TempDir scratch;
  const std::vector<float> want = expected_cam(net, file("medium.nut"), scratch, fps, cam.size(0));
  test::expect_close(std::vector<float>(cam.data<float>(), cam.data<float>() + cam.numel()), want, 1e-4,
                     std::string("cam at ") + fps_text);
}

INSTANTIATE_TEST_SUITE_P(Rates, ExtractCamSharedPass,
                         ::testing::Values(std::make_pair("10", 10.0), std::make_pair("25/2", 12.5)),
                         [](const auto& info) { return info.index == 0 ? std::string("Fps10") : std::string("Fps12_5"); });

// hl-extract's progress bar (engine/progress.h) shows cam's clips while cam runs. The bar
// is drawn only on a terminal, so hl-extract runs under script(1)'s pseudo-terminal. The
// bar redraws at most every 0.1 s: the long video's three clips (each a 125-frame decode
// and a network run after the audio's decode) come well apart from the bar's first draw.
TEST_F(ExtractCam, ProgressBarShowsCamClips) {
  if (run_command({"sh", "-c", "command -v script"}).exit_code != 0) GTEST_SKIP() << "script(1) is not installed";
  std::string cmd = "env -u HL_NO_PROGRESS";
  for (const std::string& a : {std::string(HL_EXTRACT_PATH), std::string("--weights"), file("weights"),
                               std::string("--features"), std::string("cam"), std::string("--fps"), std::string("10"),
                               std::string("--force"), std::string("--out"), file("progress"), file("long.nut")})
    cmd += " '" + a + "'";
  const test::CommandResult r = run_command({"script", "-qec", cmd, "/dev/null"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("long: cam "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" clips/s"), std::string::npos) << r.out;
}

TEST_F(ExtractCam, VideoWithoutAudioIsAClearError) {
  const test::CommandResult r = extract(file("mute.nut"), "30000/1001");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("mute.nut"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("no audio stream; cam needs"), std::string::npos) << r.err;
}

TEST_F(ExtractCam, MissingWeightsNameTheFileAndTheCommand) {
  std::filesystem::create_directories(file("empty"));
  const test::CommandResult r = extract(file("short.nut"), "30000/1001", file("empty"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("multisensory-cam.safetensors"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("hl-convert multisensory-cam"), std::string::npos) << r.err;
}

TEST_F(ExtractCam, ShiftNetworkFileIsRefused) {
  const std::string shift_dir = file("shift");
  const test::CommandResult c =
      run_command({HL_CONVERT_PATH, "multisensory-shift", fixture_prefix(), "--weights", shift_dir});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  std::filesystem::rename(shift_dir + "/multisensory-shift.safetensors", shift_dir + "/multisensory-cam.safetensors");
  const test::CommandResult r = extract(file("short.nut"), "30000/1001", shift_dir);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("shift network"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace hl
