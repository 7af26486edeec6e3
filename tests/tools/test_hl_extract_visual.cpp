// hl-convert and hl-extract's visual features run as a user would, against torchvision.
// tests/golden/extract_visual_ref.py writes torchvision GoogLeNet and Places365-style
// ResNet50 files with random weights in the published formats (zip .pth; legacy
// .pth.tar checkpoint with 'module.' keys) and the features torchvision computes for
// the frames the ffmpeg command line decodes (hl's frame rule) and for a PNG and a JPEG
// opened by PIL, with the publishers' transforms. We convert the files with hl-convert,
// extract with hl-extract, and compare (f32 whole networks: 1e-4 relative, DESIGN
// section 6). Also: the converted files' metadata, up-to-date reruns, and the errors a
// user meets (missing weights, a still image asked for mfcc, the wrong file for a net,
// a file-size limit), and that decoded frames are not held for a whole batch.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "engine/safetensors.h"
#include "engine/sha256.h"
#include "media/media_fixtures.h"
#include "pipeline/visual_features.h"
#include "support/test_support.h"
#include "tools/file_size_limit.h"

namespace hl {
namespace {

namespace fs = std::filesystem;
using test::Contains;
using test::run_command;

// One test (below) runs the parts in order: the reference script and the conversions
// take ~20 s, and ctest runs every test in its own process, so separate tests would
// repeat them.
class ExtractVisual : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    if (test::ffmpeg_cli().empty()) return;
    dir_ = new test::TempDir;
    const auto f = [](const char* name) { return dir_->file(name); };
    // 0.3 s at 30 fps, sampled at 29.97: 9 frames; odd size, with audio for mfcc.
    test::make_media(f("clip.mp4"), {"testsrc2=size=97x71:rate=30:duration=0.3", "sine=frequency=500:duration=0.3"},
                     {"-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"});
    test::make_media(f("still.png"), {"mandelbrot=size=120x90:end_pts=1"}, {"-frames:v", "1"});
    test::make_media(f("photo.jpg"), {"testsrc2=size=150x100"}, {"-frames:v", "1", "-q:v", "3"});
    ref_ok_ = test::run_golden_script("extract_visual_ref.py", {f("ref"), test::ffmpeg_cli(), f("clip.mp4"),
                                                                f("still.png"), f("photo.jpg")}) == 0;
    if (!ref_ok_) return;
    convert_googlenet_ = run_command({HL_CONVERT_PATH, "googlenet", f("ref/googlenet-0a1b2c3d.pth"), "--weights",
                                      f("weights")});
    convert_places_ = run_command({HL_CONVERT_PATH, "places365-resnet50", f("ref/resnet50_places365.pth.tar"),
                                   "--weights", f("weights")});
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    HL_REQUIRE_FFMPEG_CLI();
    ASSERT_TRUE(ref_ok_) << "tests/golden/extract_visual_ref.py failed (is torchvision importable by $HL_PYTHON?)";
    ASSERT_EQ(convert_googlenet_.exit_code, 0) << convert_googlenet_.err;
    ASSERT_EQ(convert_places_.exit_code, 0) << convert_places_.err;
  }
  static std::string file(const std::string& name) { return dir_->file(name); }
  static test::CommandResult extract(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {HL_EXTRACT_PATH, "--weights", file("weights")};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv);
  }
  // Our tensor `name` of `features_file` against the reference tensor `ref_name`.
  static void expect_feature(const std::string& features_file, const std::string& name, const std::string& ref_name) {
    const SafetensorsFile ours = SafetensorsFile::open(features_file);
    const SafetensorsFile ref = SafetensorsFile::open(file("ref/expected.safetensors"));
    const Tensor got = ours.get(name), want = ref.get(ref_name);
    ASSERT_EQ(got.shape(), want.shape()) << name << " of " << features_file;
    test::expect_close(got.data<float>(), want.data<float>(), want.numel(), 1e-4, name + " vs torchvision");
    std::printf("%s vs torchvision: %s, relative error %.3g\n", ref_name.c_str(), got.str().c_str(),
                test::relative_error(got.data<float>(), want.data<float>(), want.numel()));
  }

  static test::TempDir* dir_;
  static bool ref_ok_;
  static test::CommandResult convert_googlenet_, convert_places_;
};
test::TempDir* ExtractVisual::dir_ = nullptr;
bool ExtractVisual::ref_ok_ = false;
test::CommandResult ExtractVisual::convert_googlenet_, ExtractVisual::convert_places_;

void ConvertWritesTheStandardFilesWithTheirProvenance() {
  const SafetensorsFile g = SafetensorsFile::open(ExtractVisual::file("weights/googlenet.safetensors"));
  EXPECT_EQ(g.metadata().at("hl.source_sha256"), sha256_file(ExtractVisual::file("ref/googlenet-0a1b2c3d.pth")));
  EXPECT_EQ(g.metadata().at("hl.source_format"), "zip");
  // The file name claims SHA-256 prefix 0a1b2c3d, which it does not have: a warning.
  EXPECT_TRUE(Contains(ExtractVisual::convert_googlenet_.err, "its name says SHA-256 0a1b2c3d"));
  EXPECT_TRUE(Contains(ExtractVisual::convert_googlenet_.out, "ignored (not used by our network)"));  // aux1.*, aux2.*
  const SafetensorsFile p = SafetensorsFile::open(ExtractVisual::file("weights/places365-resnet50.safetensors"));
  EXPECT_EQ(p.metadata().at("hl.source_format"), "legacy");
  EXPECT_EQ(p.metadata().at("hl.source.epoch"), "90");
  EXPECT_EQ(p.metadata().at("hl.source.arch"), "resnet50");
}

void VideoFeaturesEqualTorchvision() {
  // Batches of 4: 9 frames go through the preprocessing queue as 4 + 4 + 1.
  const auto r = ExtractVisual::extract({"--features", "googlenet,places365,mfcc", "--batch", "4", "--out",
                                         ExtractVisual::file("out"), ExtractVisual::file("clip.mp4")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string out = ExtractVisual::file("out/clip.safetensors");
  ExtractVisual::expect_feature(out, "googlenet", "video.googlenet");
  ExtractVisual::expect_feature(out, "places365", "video.places365");
  const SafetensorsFile f = SafetensorsFile::open(out);
  const int64_t frames = f.info("googlenet").shape[0];
  EXPECT_EQ(f.metadata().at("frames"), std::to_string(frames));
  EXPECT_EQ(f.info("mfcc").shape, (std::vector<int64_t>{4 * frames, 13}));
  EXPECT_EQ(f.metadata().at("googlenet.weights"), sha256_file(ExtractVisual::file("weights/googlenet.safetensors")));
  EXPECT_EQ(f.metadata().at("places365.weights"), sha256_file(ExtractVisual::file("weights/places365-resnet50.safetensors")));
  EXPECT_TRUE(Contains(f.metadata().at("googlenet.extractor"), "f32 cpu"));

  // A second run finds everything up to date and computes nothing.
  const auto again = ExtractVisual::extract({"--features", "googlenet,places365,mfcc", "--out", ExtractVisual::file("out"), ExtractVisual::file("clip.mp4")});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(Contains(again.out, "0 ok, 1 skipped")) << again.out;
}

void StillImagesAreOneFrame() {
  const auto r = ExtractVisual::extract({"--features", "googlenet,places365", "--out", ExtractVisual::file("img"), ExtractVisual::file("still.png"),
                          ExtractVisual::file("photo.jpg")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExtractVisual::expect_feature(ExtractVisual::file("img/still.safetensors"), "googlenet", "image_png.googlenet");
  ExtractVisual::expect_feature(ExtractVisual::file("img/still.safetensors"), "places365", "image_png.places365");
  ExtractVisual::expect_feature(ExtractVisual::file("img/photo.safetensors"), "googlenet", "image_jpeg.googlenet");
  ExtractVisual::expect_feature(ExtractVisual::file("img/photo.safetensors"), "places365", "image_jpeg.places365");
  EXPECT_EQ(SafetensorsFile::open(ExtractVisual::file("img/still.safetensors")).metadata().at("frames"), "1");

  const auto audio = ExtractVisual::extract({"--features", "mfcc", "--out", ExtractVisual::file("img2"), ExtractVisual::file("still.png")});
  EXPECT_EQ(audio.exit_code, 1);
  EXPECT_TRUE(Contains(audio.out + audio.err, "still image")) << audio.err;
}

void MissingWeightsNameTheFileAndTheCommand() {
  fs::create_directories(ExtractVisual::file("empty"));
  const auto r = run_command({HL_EXTRACT_PATH, "--weights", ExtractVisual::file("empty"), "--features", "places365", "--out",
                              ExtractVisual::file("none"), ExtractVisual::file("clip.mp4")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.err, "places365-resnet50.safetensors"));
  EXPECT_TRUE(Contains(r.err, "hl-convert places365-resnet50"));
}

void ConvertRefusesAnotherNetsFile() {
  const auto wrong = run_command({HL_CONVERT_PATH, "googlenet", ExtractVisual::file("ref/resnet50_places365.pth.tar"), "-o",
                                  ExtractVisual::file("wrong.safetensors")});
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_TRUE(Contains(wrong.err, "does not hold googlenet weights")) << wrong.err;
  EXPECT_FALSE(fs::exists(ExtractVisual::file("wrong.safetensors")));
  const auto missing = run_command({HL_CONVERT_PATH, "googlenet", ExtractVisual::file("nope.pth")});
  EXPECT_EQ(missing.exit_code, 2);
  const auto unknown = run_command({HL_CONVERT_PATH, "vgg16", ExtractVisual::file("ref/googlenet-0a1b2c3d.pth")});
  EXPECT_EQ(unknown.exit_code, 2);
}

void ConvertUnderAFileSizeLimitFailsCleanly() {
  // googlenet.safetensors is ~26 MB; under ulimit -f 1024 (KiB) its write fails with
  // EFBIG: exit 1 and a message naming the file, not death by SIGXFSZ (exit 153) with a
  // temporary left behind.
  const std::string out = ExtractVisual::file("limited/googlenet.safetensors");
  const auto r = test::run_with_file_size_limit(
      1024, {HL_CONVERT_PATH, "googlenet", ExtractVisual::file("ref/googlenet-0a1b2c3d.pth"), "-o", out});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(Contains(r.err, "hl-convert: error: " + out + ": cannot write")) << r.err;
  EXPECT_TRUE(Contains(r.err, "File too large"));
  EXPECT_FALSE(fs::exists(out));
  EXPECT_TRUE(test::temporaries_under(ExtractVisual::file("limited")).empty());
}

void DecodedFramesAreReleasedBeforeTheBatchIsFull() {
  // Frames of 4800x4800 (69 MB, like an 8K frame) are preprocessed into their batch slot
  // as they arrive, so a batch of 8 does not hold 8 decoded frames (docs/extract.md,
  // "Memory"). The source counts the frames it made that are still alive when it is
  // asked for the next one.
  VisualFeatureOptions options;
  options.weights_dir = ExtractVisual::file("weights");
  options.batch = 8;
  VisualFeatureExtractor visual({Feature::GoogLeNet}, options);
  std::vector<std::weak_ptr<Storage>> made;
  size_t most_alive = 0;
  const auto source = [&](Tensor* rgb) {
    size_t alive = 0;
    for (const auto& w : made) alive += w.expired() ? 0 : 1;
    most_alive = std::max(most_alive, alive);
    if (made.size() == 10) return false;
    *rgb = Tensor::empty({4800, 4800, 3}, DType::U8);
    std::memset(rgb->raw(), static_cast<int>(made.size() * 20), rgb->nbytes());
    made.push_back(rgb->storage());
    return true;
  };
  const std::map<Feature, Tensor> out = visual.run(source);
  EXPECT_EQ(out.at(Feature::GoogLeNet).shape(), Shape({10, 1024}));  // 8 + 2
  EXPECT_LE(most_alive, 1u) << "decoded frames held while a batch of 8 fills";
}

TEST_F(ExtractVisual, ConvertAndExtractAgainstTorchvision) {
  const std::pair<const char*, void (*)()> parts[] = {
      {"ConvertWritesTheStandardFilesWithTheirProvenance", ConvertWritesTheStandardFilesWithTheirProvenance},
      {"VideoFeaturesEqualTorchvision", VideoFeaturesEqualTorchvision},
      {"StillImagesAreOneFrame", StillImagesAreOneFrame},
      {"MissingWeightsNameTheFileAndTheCommand", MissingWeightsNameTheFileAndTheCommand},
      {"ConvertRefusesAnotherNetsFile", ConvertRefusesAnotherNetsFile},
      {"ConvertUnderAFileSizeLimitFailsCleanly", ConvertUnderAFileSizeLimitFailsCleanly},
      {"DecodedFramesAreReleasedBeforeTheBatchIsFull", DecodedFramesAreReleasedBeforeTheBatchIsFull},
  };
  for (const auto& [name, part] : parts) {
    SCOPED_TRACE(name);
    part();
  }
}

}  // namespace
}  // namespace hl
