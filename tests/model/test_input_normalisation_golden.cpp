// The input normalisation statistics (nets/input_normalisation.h) of a fold's training
// videos against numpy (tests/model/input_normalisation_ref.py), which reads the raw
// feature files itself, applies the held-row rule and takes numpy.mean / numpy.std in
// float64. All six features, f16 files at 29.97 fps, three of five videos.
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "engine/segment_scores.h"
#include "nets/input_normalisation.h"
#include "pipeline/segment_dataset.h"
#include "pipeline/synthetic.h"
#include "support/test_support.h"
#include "pipeline/input_statistics.h"

namespace hl {
namespace {

TEST(InputNormalisationGolden, StatisticsMatchNumpy) {
  test::TempDir dir;
  SyntheticSpec spec;
  spec.videos = 5;
  spec.min_seconds = 12;
  spec.max_seconds = 17;
  spec.seed = 6;
  write_synthetic_dataset(spec, dir.path().string());
  const SegmentScores labels = read_segment_scores(dir.file("labels.csv"));
  const SegmentDataset data = SegmentDataset::open(dir.file("features"), labels, all_features());
  const std::vector<std::string> train = {data.videos()[0], data.videos()[2], data.videos()[3]};
  std::vector<size_t> segments;
  for (size_t i = 0; i < data.size(); ++i) {
    const std::string& v = data.videos()[static_cast<size_t>(data.segment(i).video)];
    if (v == train[0] || v == train[1] || v == train[2]) segments.push_back(i);
  }
  const InputNormalisation n = compute_input_normalisation(data, segments);

  const char* py = std::getenv("HL_PYTHON");
  std::vector<std::string> argv = {py && *py ? py : HL_TEST_PYTHON,
                                    (test::source_dir() / "tests/model/input_normalisation_ref.py").string(),
                                    dir.file("features"), dir.file("labels.csv"), dir.file("ref.json")};
  argv.insert(argv.end(), train.begin(), train.end());
  const test::CommandResult r = test::run_command(argv);
  ASSERT_EQ(r.exit_code, 0) << "input_normalisation_ref.py failed (numpy and safetensors importable by $HL_PYTHON?)\n"
                            << r.err;
  const nlohmann::json ref = nlohmann::json::parse(test::read_file(dir.file("ref.json")));
  for (Feature f : all_features()) {
    const std::string name = feature_spec(f).name;
    const std::vector<double> mean = ref[name]["mean"], stddev = ref[name]["std"];
    ASSERT_EQ(static_cast<int64_t>(mean.size()), InputNormalisation::channels(f)) << name;
    EXPECT_EQ(ref[name]["rows"].get<int64_t>(),
              static_cast<int64_t>(segments.size()) * 150 * feature_spec(f).rows_per_frame *
                  (f == Feature::Cam ? 196 : 1))
        << name;
    // Ours: double sums rounded to f32 once; numpy: float64. 1e-6 of the largest value
    // leaves room for the f32 rounding (6e-8) and nothing more than summation order.
    test::expect_close(n.mean(f), std::vector<float>(mean.begin(), mean.end()), 1e-6, name + " mean");
    test::expect_close(n.stddev(f), std::vector<float>(stddev.begin(), stddev.end()), 1e-6, name + " std");
  }
}

}  // namespace
}  // namespace hl
