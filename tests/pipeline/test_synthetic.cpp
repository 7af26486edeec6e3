// The synthetic dataset: deterministic, resumable, and carrying the planted signal at
// the strength asked for. The expected correlation is worked out here from the data
// model in pipeline/synthetic.h: the mean of the K planted dimensions of a segment is
// a·(y − 1) + noise with a = s/√K and noise variance 1/K (+ the row noise averaged over
// the segment's rows), so corr(mean, y) = s·σ_y / sqrt(s²σ_y² + 1 + small).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "engine/safetensors.h"
#include "engine/segment_scores.h"
#include "pipeline/segment_dataset.h"
#include "pipeline/synthetic.h"
#include "support/test_support.h"

namespace hl {
namespace {

double correlation(const std::vector<double>& a, const std::vector<double>& b) {
  double ma = 0, mb = 0;
  for (size_t i = 0; i < a.size(); ++i) ma += a[i] / a.size(), mb += b[i] / b.size();
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  return sab / std::sqrt(saa * sbb);
}

TEST(Synthetic, PlantedSignalHasTheRequestedStrength) {
  test::TempDir dir;
  SyntheticSpec spec;
  spec.videos = 30;
  spec.min_seconds = 40;
  spec.max_seconds = 60;
  spec.seed = 11;
  spec.features = parse_feature_list("googlenet,affect,faces,mfcc");
  spec.strength = {{Feature::GoogLeNet, 2.0f}, {Feature::Affect, 0.7f}, {Feature::Faces, 0.0f}, {Feature::Mfcc, 1.0f}};
  write_synthetic_dataset(spec, dir.path().string());
  const SegmentScores labels = read_segment_scores(dir.file("labels.csv"));
  const auto ds = SegmentDataset::open(dir.file("features"), labels, spec.features);
  ASSERT_GT(ds.size(), 200u);
  std::vector<size_t> all(ds.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  const SegmentBatch batch = ds.batch(all);
  std::vector<double> y;
  double my = 0;
  for (size_t i = 0; i < all.size(); ++i) y.push_back(batch.labels.data<float>()[i]), my += y.back() / all.size();
  double var_y = 0;
  for (double v : y) var_y += (v - my) * (v - my) / y.size();
  for (Feature f : spec.features) {
    const Tensor& x = batch.inputs.at(f);
    const int64_t rows = x.size(1), width = x.numel() / (x.size(0) * rows);
    const int64_t k = std::min<int64_t>(8, width);
    std::vector<double> m;
    for (size_t i = 0; i < all.size(); ++i) {
      double sum = 0;
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t d = 0; d < k; ++d) sum += x.data<float>()[(i * rows + r) * width + d];
      m.push_back(sum / (rows * k));
    }
    const double s = spec.strength.at(f);
    const double row_noise = 0.25 / (k * rows);  // N(0, 0.5²) averaged over k·rows values
    // Segment-noise variance of the mean of k dims is 1/k; the signal's is (s/√k)²·var_y.
    const double expected = (s / std::sqrt(double(k))) * std::sqrt(var_y) /
                            std::sqrt((s * s / k) * var_y + 1.0 / k + row_noise);
    const double got = correlation(m, y);
    // The standard error of a sample correlation is about (1 − ρ²)/√N: allow 4 of them.
    EXPECT_NEAR(got, expected, 4.0 * (1 - expected * expected) / std::sqrt(double(all.size())))
        << feature_spec(f).name << " over " << all.size() << " segments";
  }
}

TEST(Synthetic, DeterministicAndResumable) {
  test::TempDir a, b;
  SyntheticSpec spec;
  spec.videos = 3;
  spec.min_seconds = 6;
  spec.max_seconds = 12;
  spec.seed = 5;
  spec.features = parse_feature_list("cam,mfcc");
  write_synthetic_dataset(spec, a.path().string());
  write_synthetic_dataset(spec, b.path().string());
  for (const char* f : {"labels.csv", "features/synth_0000.safetensors", "features/synth_0002.safetensors"})
    EXPECT_EQ(test::read_file(a.file(f)), test::read_file(b.file(f))) << f;
  // A second run over the same folder leaves complete files alone.
  const auto before = std::filesystem::last_write_time(a.file("features/synth_0001.safetensors"));
  write_synthetic_dataset(spec, a.path().string());
  EXPECT_EQ(std::filesystem::last_write_time(a.file("features/synth_0001.safetensors")), before);
  // Another seed gives other data.
  spec.seed = 6;
  write_synthetic_dataset(spec, b.path().string());
  EXPECT_NE(test::read_file(a.file("labels.csv")), test::read_file(b.file("labels.csv")));
  const auto meta = SafetensorsFile::open(b.file("features/synth_0000.safetensors")).metadata();
  EXPECT_EQ(meta.at("fps"), "30000/1001");
}

}  // namespace
}  // namespace hl
