// The segment dataset over feature files written here: the held-frame upsampling to
// 30 fps and the 120-Hz MFCC alignment (checked against the defining inequalities, not
// a formula shared with the code), feature selection, and every error case.
#include <gtest/gtest.h>

#include <functional>

#include "engine/error.h"
#include "engine/safetensors.h"
#include "pipeline/feature_file.h"
#include "pipeline/segment_dataset.h"
#include "support/test_support.h"

namespace hl {
namespace {

using test::error_of;

// A feature file whose every row holds its own row index, so a batch shows which
// native row was picked for each tick.
void write_features(const std::string& path, int64_t frames, const std::string& fps, bool with_mfcc = true,
                    int64_t mfcc_rows = -1) {
  auto indexed = [](std::vector<int64_t> dims) {
    Tensor t = Tensor::empty(Shape(dims), DType::F32);
    int64_t per_row = t.numel() / dims[0];
    float* p = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<float>(i / per_row);
    return t;
  };
  std::vector<std::pair<std::string, Tensor>> tensors = {
      {"googlenet", indexed({frames, 1024})}, {"cam", indexed({frames, 14, 14})}, {"faces", indexed({frames})}};
  if (with_mfcc) tensors.push_back({"mfcc", indexed({mfcc_rows < 0 ? 4 * frames : mfcc_rows, 13})});
  std::map<std::string, std::string> meta;
  if (!fps.empty()) meta["fps"] = fps;
  write_safetensors(path, tensors, meta);
}

TEST(SegmentDataset, HoldsTheLatestFrameAndAlignsMfcc) {
  test::TempDir dir;
  write_features(dir.file("a.safetensors"), 400, "30000/1001");  // 13.35 s: 2 segments
  write_features(dir.file("b.safetensors"), 300, "25");          // 12 s: 2 segments
  const SegmentScores labels = {{"a", {0.5, 1.5}}, {"b", {2.0, 0.0}}};
  const auto ds = SegmentDataset::open(dir.path().string(), labels, parse_feature_list("googlenet,faces,mfcc"));
  ASSERT_EQ(ds.size(), 4u);
  const size_t pick[] = {1, 3};  // a segment 1, b segment 1
  const SegmentBatch batch = ds.batch(pick);
  EXPECT_EQ(batch.inputs.count(Feature::Cam), 0u);  // only what the model uses
  const Tensor& g = batch.inputs.at(Feature::GoogLeNet);
  ASSERT_EQ(g.shape(), Shape({2, 150, 1024}));
  ASSERT_EQ(batch.inputs.at(Feature::Faces).shape(), Shape({2, 150, 1}));
  const Tensor& m = batch.inputs.at(Feature::Mfcc);
  ASSERT_EQ(m.shape(), Shape({2, 600, 13}));
  EXPECT_EQ(batch.labels.data<float>()[0], 1.5f);
  EXPECT_EQ(batch.labels.data<float>()[1], 0.0f);
  struct Rate {
    int64_t num, den;
  };
  const Rate rates[] = {{30000, 1001}, {25, 1}};
  for (int v = 0; v < 2; ++v) {
    const int64_t frames = v == 0 ? 400 : 300;
    for (int64_t r = 0; r < 150; ++r) {
      const int64_t t = 150 + r;  // 30-fps tick (segment 1)
      const auto j = static_cast<int64_t>(g.data<float>()[(v * 150 + r) * 1024 + 7]);
      // Frame j is shown at tick t: j/fps <= t/30 < (j+1)/fps (or j is the last frame).
      EXPECT_LE(j * rates[v].den * 30, t * rates[v].num) << v << " " << r;
      if (j < frames - 1) {
        EXPECT_GT((j + 1) * rates[v].den * 30, t * rates[v].num) << v << " " << r;
      }
      EXPECT_EQ(batch.inputs.at(Feature::Faces).data<float>()[v * 150 + r], static_cast<float>(j));
    }
    for (int64_t r = 0; r < 600; ++r) {
      const int64_t u = 600 + r;  // 120-Hz sub-tick
      const auto q = static_cast<int64_t>(m.data<float>()[(v * 600 + r) * 13 + 12]);
      // MFCC rows run at 4 × fps: q/(4 fps) <= u/120 < (q+1)/(4 fps).
      EXPECT_LE(q * rates[v].den * 120, u * 4 * rates[v].num) << v << " " << r;
      EXPECT_GT((q + 1) * rates[v].den * 120, u * 4 * rates[v].num) << v << " " << r;
    }
  }
}

TEST(SegmentDataset, ErrorsNameTheVideoFileAndProblem) {
  test::TempDir dir;
  write_features(dir.file("a.safetensors"), 400, "30000/1001");
  const auto use = parse_feature_list("googlenet,mfcc");
  auto open = [&](const SegmentScores& labels, const std::vector<Feature>& features) {
    return error_of([&] { SegmentDataset::open(dir.path().string(), labels, features, "labels.csv"); });
  };
  EXPECT_NE(open({{"zz", {1}}}, use).find("no feature file for video 'zz'"), std::string::npos);
  EXPECT_NE(open({{"a", {1, 1, 1}}}, use).find("labels.csv: video 'a' has labels for segment 2 but its features"),
            std::string::npos);
  EXPECT_NE(open({{"a", {1}}}, parse_feature_list("places365")).find("no 'places365' tensor"), std::string::npos);

  write_features(dir.file("nofps.safetensors"), 400, "");
  EXPECT_NE(open({{"nofps", {1}}}, use).find("no 'fps' in the metadata"), std::string::npos);
  write_features(dir.file("badmfcc.safetensors"), 400, "25", true, 1599);
  EXPECT_NE(open({{"badmfcc", {1}}}, use).find("'mfcc' has 1599 rows, not a multiple of 4"), std::string::npos);
  write_features(dir.file("short_mfcc.safetensors"), 400, "25", true, 1200);
  EXPECT_NE(open({{"short_mfcc", {1}}}, use).find("'mfcc' covers 300 frames but the other features cover 400"),
            std::string::npos);
  write_safetensors(dir.file("shape.safetensors"), {{"googlenet", Tensor::zeros(Shape({10, 512}), DType::F32)}},
                    {{"fps", "25"}});
  EXPECT_NE(open({{"shape", {1}}}, parse_feature_list("googlenet")).find("has shape [10, 512], expected [T, 1024]"),
            std::string::npos);
}

TEST(FeatureList, ParsesAndRejects) {
  EXPECT_EQ(parse_feature_list("all").size(), 6u);
  EXPECT_EQ(parse_feature_list("mfcc,faces"), (std::vector<Feature>{Feature::Mfcc, Feature::Faces}));
  EXPECT_THROW(parse_feature_list("googlenet,foo"), Error);
  EXPECT_THROW(parse_feature_list("mfcc,mfcc"), Error);
  EXPECT_THROW(parse_feature_list(""), Error);
}

TEST(FrameRate, Parses) {
  EXPECT_EQ(parse_frame_rate("30000/1001").num, 30000);
  EXPECT_EQ(parse_frame_rate("29.97").den, 100);
  EXPECT_EQ(parse_frame_rate("25").num, 25);
  EXPECT_THROW(parse_frame_rate("0"), Error);
  EXPECT_THROW(parse_frame_rate("abc"), Error);
  EXPECT_THROW(parse_frame_rate("30/0"), Error);
}

}  // namespace
}  // namespace hl
