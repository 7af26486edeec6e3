// What the trainer feeds its models (nets/input_normalisation.h, pipeline/trainer.h): the
// input statistics against sums written out here from the raw feature files (the held
// rows found by the DESIGN's rule, a global two-pass mean and variance in double);
// standardised batches against (x - mean) / max(std, eps) per element, a constant channel
// included; no leakage (a fold's statistics do not move when only its validation and
// test videos change, and do when a training video changes); VASNet's frames at a step
// (T / N rows, the rows k · N of the full sequence).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "engine/safetensors.h"
#include "engine/segment_scores.h"
#include "nets/input_normalisation.h"
#include "pipeline/feature_file.h"
#include "pipeline/segment_dataset.h"
#include "pipeline/synthetic.h"
#include "pipeline/trainer.h"
#include "support/test_support.h"
#include "pipeline/input_statistics.h"

namespace hl {
namespace {

namespace fs = std::filesystem;

// Segment indices of `data` for `videos`.
std::vector<size_t> segments_of(const SegmentDataset& data, const std::vector<std::string>& videos) {
  std::vector<size_t> out;
  for (size_t i = 0; i < data.size(); ++i)
    if (std::find(videos.begin(), videos.end(), data.videos()[static_cast<size_t>(data.segment(i).video)]) !=
        videos.end())
      out.push_back(i);
  return out;
}

// The rows of feature f that the labelled segments of `video` show, straight from its
// file: 30-fps (MFCC: 120-Hz) tick t shows native row floor(t · fps / 30) (the same for
// MFCC's 4 rows per frame), clamped to the last row.
std::vector<std::vector<float>> held_rows(const std::string& dir, const std::string& video, int64_t segments, Feature f) {
  const SafetensorsFile file = SafetensorsFile::open(dir + "/" + video + ".safetensors");
  const FrameRate fps = parse_frame_rate(file.metadata().at("fps"));
  const Tensor t = file.get(feature_spec(f).name).cast(DType::F32);
  const int64_t per_row = t.numel() / t.size(0), rpf = feature_spec(f).rows_per_frame;
  std::vector<std::vector<float>> rows;
  for (int64_t tick = 0; tick < segments * 150 * rpf; ++tick) {
    const int64_t j = std::min(tick * fps.num / (fps.den * 30), t.size(0) - 1);
    rows.emplace_back(t.data<float>() + j * per_row, t.data<float>() + (j + 1) * per_row);
  }
  return rows;
}

struct Dataset {
  test::TempDir dir;
  SegmentScores labels;
  std::string features() const { return dir.file("features"); }
  SegmentDataset open(const std::vector<Feature>& use) const { return SegmentDataset::open(features(), labels, use); }
};

std::unique_ptr<Dataset> synthetic(int videos, double seconds, const std::vector<Feature>& features, uint64_t seed) {
  auto d = std::make_unique<Dataset>();
  SyntheticSpec spec;
  spec.videos = videos;
  spec.min_seconds = seconds;
  spec.max_seconds = seconds + 6;
  spec.features = features;
  spec.seed = seed;
  write_synthetic_dataset(spec, d->dir.path().string());
  d->labels = read_segment_scores(d->dir.file("labels.csv"));
  return d;
}

TEST(TrainerInputs, StatisticsAreTheTrainingRowsMeanAndStd) {
  const auto d = synthetic(4, 11, all_features(), 3);
  const SegmentDataset data = d->open(all_features());
  const std::vector<std::string> train = {data.videos()[0], data.videos()[2], data.videos()[3]};
  const InputNormalisation n = compute_input_normalisation(data, segments_of(data, train));
  for (Feature f : all_features()) {
    const int64_t c = InputNormalisation::channels(f);
    std::vector<double> values;  // [rows, C]: cam's 196 positions and faces' one value are one channel each
    for (const std::string& v : train)
      for (const auto& row : held_rows(d->features(), v, static_cast<int64_t>(d->labels.at(v).size()), f))
        values.insert(values.end(), row.begin(), row.end());
    const auto rows = static_cast<int64_t>(values.size()) / c;
    std::vector<float> mean(static_cast<size_t>(c)), stddev(static_cast<size_t>(c));
    for (int64_t k = 0; k < c; ++k) {
      double sum = 0, sq = 0;
      for (int64_t r = 0; r < rows; ++r) sum += values[static_cast<size_t>(r * c + k)];
      const double m = sum / static_cast<double>(rows);
      for (int64_t r = 0; r < rows; ++r) sq += std::pow(values[static_cast<size_t>(r * c + k)] - m, 2);
      mean[static_cast<size_t>(k)] = static_cast<float>(m);
      stddev[static_cast<size_t>(k)] = static_cast<float>(std::sqrt(sq / static_cast<double>(rows)));
    }
    const std::string name = feature_spec(f).name;
    // Both sides are double sums rounded to f32: a few ulp of the largest value at most.
    test::expect_close(n.mean(f), mean, 1e-6, name + " mean");
    test::expect_close(n.stddev(f), stddev, 1e-6, name + " std");
  }
  EXPECT_EQ(n.mean(Feature::Cam).size(), 1u);
  EXPECT_EQ(n.mean(Feature::Mfcc).size(), 13u);
  // Deterministic: the same segments give the same bits.
  EXPECT_TRUE(compute_input_normalisation(data, segments_of(data, train)) == n);
  EXPECT_NE(test::error_of([&] { (void)compute_input_normalisation(data, std::vector<size_t>{}); })
                .find("no training segments"),
            std::string::npos);
}

TEST(TrainerInputs, BatchesAreStandardisedPerChannel) {
  const auto d = synthetic(2, 11, all_features(), 5);
  const SegmentDataset data = d->open(all_features());
  const std::vector<size_t> all = segments_of(data, data.videos());
  const InputNormalisation n = compute_input_normalisation(data, std::vector<size_t>{all[0], all[1]});
  const SegmentBatch raw = data.batch(all), normed = data.batch(all, Device::cpu(), n);
  for (Feature f : all_features()) {
    const Tensor& x = raw.inputs.at(f);
    const Tensor& y = normed.inputs.at(f);
    ASSERT_EQ(x.shape(), y.shape());
    const int64_t c = InputNormalisation::channels(f), per_row = x.numel() / (x.size(0) * x.size(1));
    std::vector<float> want(static_cast<size_t>(x.numel()));
    for (int64_t i = 0; i < x.numel(); ++i) {
      const auto k = static_cast<size_t>(c == 1 ? 0 : i % per_row);
      const double divisor = std::max<double>(n.stddev(f)[k], 1e-3);
      want[static_cast<size_t>(i)] = static_cast<float>((x.data<float>()[i] - static_cast<double>(n.mean(f)[k])) / divisor);
    }
    test::expect_close(std::vector<float>(y.data<float>(), y.data<float>() + y.numel()), want, 1e-6,
                       feature_spec(f).name);
  }
  // Without statistics the rows are copied as they are.
  EXPECT_EQ(std::memcmp(data.batch(all, Device::cpu(), InputNormalisation::none()).inputs.at(Feature::Affect).raw(),
                        raw.inputs.at(Feature::Affect).raw(), raw.inputs.at(Feature::Affect).nbytes()),
            0);
  // Statistics without a feature of the dataset are refused.
  const InputNormalisation partial({{Feature::Faces, {{0.0}, {1.0}}}});
  EXPECT_NE(test::error_of([&] { (void)data.batch(all, Device::cpu(), partial); }).find("no statistics for 'googlenet'"),
            std::string::npos);
}

// A channel that never varies in the training data has std 0 exactly; it standardises to
// 0 there (divided by eps, not by zero) and stays finite where it does vary.
TEST(TrainerInputs, ConstantChannelIsDividedByEps) {
  test::TempDir dir;
  fs::create_directories(dir.file("features"));
  SegmentScores labels;
  for (int v = 0; v < 2; ++v) {
    const int64_t frames = 300;
    std::vector<float> affect(static_cast<size_t>(frames * 128)), faces(static_cast<size_t>(frames));
    for (int64_t i = 0; i < frames * 128; ++i)
      affect[static_cast<size_t>(i)] = i % 128 == 3 ? (v == 0 ? 2.5f : 2.75f) : static_cast<float>((i * 7919) % 1000) / 500.0f;
    for (int64_t i = 0; i < frames; ++i) faces[static_cast<size_t>(i)] = 0.25f;
    const std::string id = "v" + std::to_string(v);
    write_safetensors(dir.file("features/" + id + ".safetensors"),
                      {{"affect", Tensor::from_vector(Shape{frames, 128}, affect)},
                       {"faces", Tensor::from_vector(Shape{frames}, faces)}},
                      {{"fps", "30"}});
    labels[id] = {1.0, 0.5};
  }
  const SegmentDataset data = SegmentDataset::open(dir.file("features"), labels, {Feature::Affect, Feature::Faces});
  const InputNormalisation n = compute_input_normalisation(data, std::vector<size_t>{0, 1});  // video v0 only
  EXPECT_EQ(n.stddev(Feature::Affect)[3], 0.0f);
  EXPECT_EQ(n.mean(Feature::Affect)[3], 2.5f);
  EXPECT_EQ(n.stddev(Feature::Faces)[0], 0.0f);
  const SegmentBatch b = data.batch(std::vector<size_t>{0, 2}, Device::cpu(), n);  // v0 and v1's first segments
  const float* a = b.inputs.at(Feature::Affect).data<float>();
  EXPECT_EQ(a[3], 0.0f);                         // v0: (2.5 - 2.5) / eps
  EXPECT_FLOAT_EQ(a[150 * 128 + 3], 250.0f);     // v1: (2.75 - 2.5) / 1e-3
  EXPECT_EQ(b.inputs.at(Feature::Faces).data<float>()[0], 0.0f);
}

// The statistics come from the training videos only: rewriting the validation and test
// videos' features leaves the fold's model file statistics bit-identical (while its test
// predictions do change), and rewriting a training video changes them.
TEST(TrainerInputs, HeldOutVideosDoNotLeakIntoTheStatistics) {
  const std::vector<Feature> use = {Feature::Affect, Feature::Faces};
  const auto d = synthetic(6, 20, use, 8);
  const std::vector<std::string> videos = d->open(use).videos();
  FoldPlan plan;
  plan.train = {videos[0], videos[1], videos[2], videos[3]};
  plan.validation = {videos[4]};
  plan.test = {videos[5]};
  TrainConfig config;
  config.model = HighlightModelConfig::paper(use);
  config.epochs = 1;
  config.batch = 8;
  config.seed = 3;
  test::TempDir runs;
  auto train = [&](const std::string& name) {
    const SegmentDataset data = d->open(use);
    const FoldOutcome outcome = train_fold(data, plan, config, runs.file(name), false);
    return std::pair{HighlightModel::load(runs.file(name + "/model.safetensors")).input_normalisation(),
                     outcome.test_predictions};
  };
  // Scales and shifts every value of a video's features.
  auto rewrite = [&](const std::string& video) {
    const std::string path = d->features() + "/" + video + ".safetensors";
    const SafetensorsFile file = SafetensorsFile::open(path);
    std::vector<std::pair<std::string, Tensor>> tensors;
    for (const std::string& name : file.names()) {
      Tensor t = file.get(name).cast(DType::F32);
      for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = 3.0f * t.data<float>()[i] + 1.0f;
      tensors.emplace_back(name, t);
    }
    write_safetensors(path, tensors, file.metadata());
  };
  const auto [before, predictions_before] = train("before");
  ASSERT_TRUE(before.enabled());
  rewrite(videos[4]);
  rewrite(videos[5]);
  const auto [held_out_changed, predictions_after] = train("held-out-changed");
  EXPECT_TRUE(held_out_changed == before);
  EXPECT_NE(predictions_after.at(videos[5]), predictions_before.at(videos[5]));  // the change was read
  rewrite(videos[1]);
  const InputNormalisation train_changed = train("train-changed").first;
  EXPECT_FALSE(train_changed == before);
  EXPECT_NE(train_changed.mean(Feature::Affect), before.mean(Feature::Affect));
}

// VASNet's input at frame step N: rows 0, N, 2N, ... of the joined 150-per-segment
// sequence, T / N of them (the [T, T] attention becomes [T / N, T / N]), standardised
// like the full sequence.
TEST(TrainerInputs, VasnetFramesAtAStep) {
  const auto d = synthetic(2, 16, {Feature::GoogLeNet}, 2);
  const SegmentDataset data = d->open({Feature::GoogLeNet});
  const std::vector<size_t> idx = segments_of(data, {data.videos()[0]});
  ASSERT_EQ(idx.size(), 3u);
  const Tensor all = segment_frames(data, idx);
  ASSERT_EQ(all.shape(), (Shape{450, 1024}));
  for (int64_t step : {15, 40, 150}) {
    const Tensor kept = segment_frames(data, idx, InputNormalisation::none(), step);
    ASSERT_EQ(kept.shape(), (Shape{(450 + step - 1) / step, 1024})) << step;
    for (int64_t k = 0; k < kept.size(0); ++k)
      ASSERT_EQ(std::memcmp(kept.data<float>() + k * 1024, all.data<float>() + k * step * 1024, 1024 * sizeof(float)), 0)
          << step << " " << k;
  }
  const InputNormalisation n = compute_input_normalisation(data, idx);
  const Tensor normed = segment_frames(data, idx, n, 15);
  ASSERT_EQ(normed.size(0), 30);
  std::vector<float> want(30 * 1024);
  for (int64_t k = 0; k < 30; ++k)
    for (int64_t c = 0; c < 1024; ++c)
      want[static_cast<size_t>(k * 1024 + c)] =
          (all.data<float>()[k * 15 * 1024 + c] - n.mean(Feature::GoogLeNet)[static_cast<size_t>(c)]) /
          std::max(n.stddev(Feature::GoogLeNet)[static_cast<size_t>(c)], 1e-3f);
  test::expect_close(std::vector<float>(normed.data<float>(), normed.data<float>() + normed.numel()), want, 1e-6,
                     "standardised frames");
}

}  // namespace
}  // namespace hl
