// hl-dataset verify and stats run as a user would, on feature files written here with
// the format's writer: a clean dataset passes; a truncated file, a file from another
// extractor version, features whose frame counts disagree, a labelled video without a
// file, a video too short for its labels and a missing --features feature are each found
// and named, with exit 1. stats' means against values summed here.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "engine/tensor.h"
#include "pipeline/extract.h"
#include "pipeline/feature_file.h"
#include "support/test_support.h"

namespace hl {
namespace {

namespace fs = std::filesystem;
using test::run_command;

constexpr FrameRate kFps{25, 1};
constexpr int64_t kFrames = 300;  // 12 s at 25 fps: 2 complete 5-s segments

// <dir>/<id>.safetensors with mfcc (every value 0.25, [4T, 13]) and faces ([T], frame i
// holds i % 4). `mfcc_frames` lets the two disagree; `extractor` overrides mfcc's.
void write_video(const std::string& dir, const std::string& id, int64_t frames = kFrames,
                 int64_t mfcc_frames = kFrames, const std::string& extractor = "") {
  std::vector<float> faces(static_cast<size_t>(frames));
  for (int64_t i = 0; i < frames; ++i) faces[static_cast<size_t>(i)] = static_cast<float>(i % 4);
  const std::map<Feature, Tensor> tensors = {
      {Feature::Mfcc, Tensor::from_vector(Shape({4 * mfcc_frames, 13}),
                                          std::vector<float>(static_cast<size_t>(4 * mfcc_frames * 13), 0.25f))},
      {Feature::Faces, Tensor::from_vector(Shape({frames}), faces)}};
  const auto meta = feature_file_metadata(
      {Feature::Mfcc, Feature::Faces}, kFps, frames,
      {{feature_meta::extractor_key(Feature::Mfcc), extractor.empty() ? extractor_name(Feature::Mfcc, kFps) : extractor},
       {feature_meta::weights_key(Feature::Mfcc), "none"}});
  write_feature_file(feature_file_path(dir, id), tensors, meta);
}

class HlDataset : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(features());
    for (const char* id : {"a", "b", "c"}) write_video(features(), id);
    write_labels("video,segment,score\na,0,1\na,1,0\nb,0,2\nb,1,1\nc,0,0\nc,1,1\n");
  }
  std::string features() const { return dir.file("features"); }
  std::string labels() const { return dir.file("labels.csv"); }
  void write_labels(const std::string& text) const { test::write_file(labels(), text); }
  test::CommandResult verify(std::vector<std::string> more = {}) const {
    std::vector<std::string> args = {HL_DATASET_PATH, "verify", features(), "--labels", labels()};
    args.insert(args.end(), more.begin(), more.end());
    return run_command(args);
  }
  test::TempDir dir;
};

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST_F(HlDataset, CleanDatasetPasses) {
  const auto r = verify({"--features", "mfcc,faces"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "3 feature files")) << r.out;
  EXPECT_TRUE(has(r.out, "ok")) << r.out;
}

TEST_F(HlDataset, TruncatedFileIsNamed) {
  const std::string b = feature_file_path(features(), "b");
  fs::resize_file(b, fs::file_size(b) - 100);  // a copy cut short
  const auto r = verify();
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(has(r.out, "1 problem(s)")) << r.out;
  EXPECT_TRUE(has(r.out, "  " + b)) << r.out;
}

TEST_F(HlDataset, FileFromAnotherExtractorVersionIsNamed) {
  write_video(features(), "c", kFrames, kFrames, extractor_name(Feature::Mfcc, kFps) + " (hl 0.0.1)");
  const auto r = verify();
  EXPECT_EQ(r.exit_code, 1) << r.out;
  const std::string c = feature_file_path(features(), "c");
  EXPECT_TRUE(has(r.out, c + ": mfcc.extractor is '")) << r.out;
  EXPECT_TRUE(has(r.out, "2 other file(s)")) << r.out;
  EXPECT_FALSE(has(r.out, feature_file_path(features(), "a") + ":")) << r.out;  // the common value is not blamed
}

TEST_F(HlDataset, FrameCountsThatDisagreeAreNamed) {
  write_video(features(), "a", kFrames, kFrames - 10);  // mfcc 4 * 290 rows, faces 300
  const auto r = verify();
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(has(r.out, feature_file_path(features(), "a") + ": tensor 'mfcc' has shape [1160, 13], expected [1200, 13]"))
      << r.out;
}

TEST_F(HlDataset, MissingAndShortLabelledVideosAreNamed) {
  // d has labels but no file; c has labels for 3 segments but covers 2.
  write_labels("video,segment,score\na,0,1\na,1,0\nc,0,0\nc,1,1\nc,2,1\nd,0,1\n");
  const auto r = verify();
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(has(r.out, "video 'd' has labels but no feature file")) << r.out;
  EXPECT_TRUE(has(r.out, "video 'c' has labels for 3 segments but")) << r.out;
  EXPECT_TRUE(has(r.out, "covers 2 complete 5-s segments")) << r.out;
  EXPECT_TRUE(has(r.out, "2 problem(s)")) << r.out;
}

TEST_F(HlDataset, MissingRequestedFeatureIsNamed) {
  const auto r = verify({"--features", "googlenet,mfcc"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(has(r.out, "3 problem(s)")) << r.out;
  EXPECT_TRUE(has(r.out, feature_file_path(features(), "b") + ": no 'googlenet' feature")) << r.out;
}

TEST_F(HlDataset, StatsSumsUp) {
  write_video(features(), "c", 100, 100);  // 4 s
  const auto r = run_command({HL_DATASET_PATH, "stats", features()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  // Frames 300 + 300 + 100 = 700 (28 s); faces: i % 4 over 0..299 has mean 1.5, over
  // 0..99 too, so 1.5; mfcc is 0.25 everywhere.
  EXPECT_TRUE(has(r.out, "700")) << r.out;
  EXPECT_TRUE(has(r.out, "28.0")) << r.out;
  EXPECT_TRUE(has(r.out, "1.500000")) << r.out;
  EXPECT_TRUE(has(r.out, "0.250000")) << r.out;
  EXPECT_TRUE(has(r.out, std::to_string(700 * 4 * 13))) << r.out;  // mfcc values
}

TEST_F(HlDataset, UsageErrors) {
  auto r = run_command({HL_DATASET_PATH, "verify", dir.file("nowhere")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "not a folder")) << r.err;
  r = run_command({HL_DATASET_PATH, "verify", features(), "--features", "nosuch"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  r = run_command({HL_DATASET_PATH});
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

}  // namespace
}  // namespace hl
