// The trainer's guards: the finite check of a step (pipeline/finite_guard.h: every
// element of every tensor, huge finite values not mistaken for overflow, and which
// parameter or gradient was bad), and the record of a run's inputs that --resume
// compares (pipeline/run_inputs.h: per-video labels and feature files, the fold's
// videos, what changed in words; pipeline/checkpoint.h: which options differ).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "engine/autograd/variable.h"
#include "pipeline/checkpoint.h"
#include "pipeline/feature_file.h"
#include "pipeline/finite_guard.h"
#include "pipeline/run_inputs.h"
#include "pipeline/synthetic.h"
#include "pipeline/trainer.h"
#include "support/test_support.h"

namespace hl {
namespace {

namespace fs = std::filesystem;
using fold_training::all_finite;
using fold_training::describe_non_finite_parameters;

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNan = std::numeric_limits<float>::quiet_NaN();

Tensor tensor_of(const std::vector<float>& values) {
  Tensor t = Tensor::empty(Shape{static_cast<int64_t>(values.size())}, DType::F32);
  std::copy(values.begin(), values.end(), t.data<float>());
  return t;
}

TEST(FiniteGuard, AllFiniteLooksAtEveryElementOfEveryTensor) {
  EXPECT_TRUE(all_finite({}));
  EXPECT_TRUE(all_finite({tensor_of({1, -2, 0}), tensor_of({0.5f})}));
  // The largest finite floats: their plain sum overflows to inf, a finite check must not.
  EXPECT_TRUE(all_finite({tensor_of({3e38f, 3e38f, 3e38f}), tensor_of({-3e38f})}));
  for (float bad : {kNan, kInf, -kInf}) {
    EXPECT_FALSE(all_finite({tensor_of({1, 2, 3}), tensor_of({4, bad, 5})})) << bad;
    EXPECT_FALSE(all_finite({tensor_of({bad})})) << bad;
  }
  // The last element of a tensor longer than one parallel chunk.
  std::vector<float> long_one(100'003, 1.0f);
  long_one.back() = kNan;
  EXPECT_FALSE(all_finite({tensor_of(long_one)}));
}

TEST(FiniteGuard, SaysWhetherAGradientOrTheStepWasNonFinite) {
  std::vector<NamedParameter> params = {{"a", ag::Variable(tensor_of({1, 2}), true)},
                                        {"b", ag::Variable(tensor_of({3, kInf}), true)}};
  params[1].value.data()->grad = tensor_of({0.5f, kNan});
  EXPECT_EQ(describe_non_finite_parameters(params, 1e-3f), "the gradient of parameter 'b' is not finite");
  params[1].value.data()->grad = tensor_of({0.5f, 0.25f});
  EXPECT_EQ(describe_non_finite_parameters(params, 1e30f),
            "Adam's step (lr 1e+30) made parameter 'b' non-finite from a finite gradient");
}

// Two short synthetic videos with two labelled segments each.
struct TwoVideos {
  test::TempDir dir;
  SegmentScores labels;
  std::vector<std::string> videos;
  TwoVideos() {
    SyntheticSpec spec;
    spec.videos = 3;
    spec.min_seconds = 11;
    spec.max_seconds = 12;
    spec.features = {Feature::Faces};
    spec.seed = 5;
    write_synthetic_dataset(spec, dir.path().string());
    for (const auto& e : fs::directory_iterator(dir.file("features"))) videos.push_back(e.path().stem().string());
    std::sort(videos.begin(), videos.end());
    for (const std::string& v : videos) labels[v] = {1.0, 0.5};
  }
  SegmentDataset open() const { return SegmentDataset::open(dir.file("features"), labels, {Feature::Faces}); }
};

TEST(RunInputs, RecordsEachVideosLabelsAndFeatureFile) {
  TwoVideos d;
  const InputRecord a = record_inputs(d.open(), d.dir.file("features"), "labels.csv");
  ASSERT_EQ(a.labels.size(), 3u);
  ASSERT_EQ(a.features.size(), 3u);
  EXPECT_EQ(a.labels.at(d.videos[0]), a.labels.at(d.videos[1]));  // the same labels, the same digest
  EXPECT_NE(a.features.at(d.videos[0]), a.features.at(d.videos[1]));
  EXPECT_TRUE(input_changes(a, record_inputs(d.open(), d.dir.file("features"), "labels.csv")).empty());

  // One label of one video; a video more; a video fewer.
  d.labels[d.videos[1]][1] = 0.75;
  const InputRecord b = record_inputs(d.open(), d.dir.file("features"), "labels.csv");
  EXPECT_EQ(input_changes(a, b), std::vector<std::string>{"the labels of video '" + d.videos[1] + "' changed"});
  d.labels.erase(d.videos[2]);
  const InputRecord c = record_labels(d.open(), "new.csv");
  EXPECT_EQ(input_changes(a, c), (std::vector<std::string>{"the labels of video '" + d.videos[1] + "' changed",
                                                           "video '" + d.videos[2] + "' is no longer in new.csv"}));
  EXPECT_EQ(input_changes(c, a), (std::vector<std::string>{"the labels of video '" + d.videos[1] + "' changed",
                                                           "video '" + d.videos[2] + "' is new in labels.csv"}));

  // A feature file rewritten with other metadata (what another extraction or seed writes).
  const std::string path = feature_file_path(d.dir.file("features"), d.videos[0]);
  std::map<std::string, std::string> meta;
  std::map<Feature, Tensor> tensors;
  {
    const SafetensorsFile f = SafetensorsFile::open(path);
    meta = f.metadata();
    tensors[Feature::Faces] = f.get("faces");  // the same values and type: only the metadata differs
  }
  meta["seed"] = "6";
  write_feature_file(path, tensors, meta);
  d.labels = {};
  for (const std::string& v : d.videos) d.labels[v] = {1.0, 0.5};
  const InputRecord e = record_inputs(d.open(), d.dir.file("features"), "labels.csv");
  EXPECT_EQ(input_changes(a, e), std::vector<std::string>{"the feature file of video '" + d.videos[0] + "' changed"});

  // Another feature added to a file (as a later extraction would): the run does not read
  // it, so nothing changed for it. Then the last value of its own feature changed.
  const std::string path1 = feature_file_path(d.dir.file("features"), d.videos[1]);
  Tensor faces;
  {
    const SafetensorsFile f = SafetensorsFile::open(path1);
    meta = f.metadata();
    faces = f.get("faces").clone();
  }
  const int64_t frames = faces.size(0);
  Tensor affect = Tensor::zeros(Shape{frames, 128}, DType::F32);
  write_feature_file(path1, {{Feature::Affect, affect}, {Feature::Faces, faces}},
                     feature_file_metadata({Feature::Affect, Feature::Faces}, parse_frame_rate(meta.at("fps")), frames,
                                           {{"source", meta.at("source")},
                                            {"synthetic_strength", meta.at("synthetic_strength")},
                                            {"dtype", meta.at("dtype")},
                                            {"affect.extractor", "test"}}));
  const InputRecord added = record_inputs(d.open(), d.dir.file("features"), "labels.csv");
  EXPECT_EQ(added.features.at(d.videos[1]), e.features.at(d.videos[1]));
  Tensor changed = faces.cast(DType::F32);
  changed.data<float>()[frames - 1] += 1.0f;
  write_feature_file(path1, {{Feature::Affect, affect}, {Feature::Faces, changed.cast(faces.dtype())}},
                     SafetensorsFile::open(path1).metadata());
  EXPECT_EQ(input_changes(added, record_inputs(d.open(), d.dir.file("features"), "labels.csv")),
            std::vector<std::string>{"the feature file of video '" + d.videos[1] + "' changed"});
  // Without a record of feature files (a caller of train_fold that gave none) they are not compared.
  EXPECT_TRUE(input_changes(record_labels(d.open(), "x"), a).empty());

  // The record survives its JSON text.
  const InputRecord back = InputRecord::from_json(a.to_json(), "ckpt");
  EXPECT_EQ(back.labels, a.labels);
  EXPECT_EQ(back.features, a.features);
  EXPECT_NE(test::error_of([] { (void)InputRecord::from_json("{\"labels\": 3}", "ckpt.safetensors"); })
                .find("ckpt.safetensors"),
            std::string::npos);
}

TEST(FiniteGuard, NamesTheVideosOfABatchAndABadPrediction) {
  TwoVideos d;
  const SegmentDataset data = d.open();  // segments 0-1: video 0, 2-3: video 1, 4-5: video 2
  EXPECT_EQ(fold_training::videos_of(data, {5, 2, 4, 3}), "'" + d.videos[2] + "', '" + d.videos[1] + "'");
  const std::string message = test::error_of([&] {
    fold_training::stop_non_finite(data, 2, 3, 4, 7, "the training loss is NaN", {1, 0}, TrainingProgress{2, 1});
  });
  EXPECT_EQ(message, "fold 2, epoch 3, step 4 of 7: the training loss is NaN; the step's batch holds the videos '" +
                         d.videos[0] +
                         "'; nothing of this epoch was saved: the fold's checkpoint holds epoch 2 and its model "
                         "file epoch 1. Training stopped: lower --lr, or check those videos' features (--normalise "
                         "on standardises them)");
  fold_training::check_predictions(data, 1, {2, 3}, {0.5f, -1e30f}, 4);  // finite: nothing to say
  EXPECT_EQ(test::error_of([&] { fold_training::check_predictions(data, 1, {2, 3}, {0.5f, kNan}, 4); }),
            "fold 1: the model of epoch 4 scores segment 1 of held-out video '" + d.videos[1] +
                "' nan; no predictions were written. Check that video's features (--normalise on standardises them)");
}

TEST(RunInputs, TheFoldsVideosAreRecordedToo) {
  FoldPlan p{0, {"a", "b"}, {"c"}, {"d"}};
  FoldPlan moved{0, {"a"}, {"b", "c"}, {"d"}};  // the same videos, another split
  EXPECT_EQ(fold_digest(p), fold_digest(FoldPlan{0, {"a", "b"}, {"c"}, {"d"}}));
  EXPECT_NE(fold_digest(p), fold_digest(moved));
  InputRecord then, now;
  then.fold = fold_digest(p);
  now.fold = fold_digest(moved);
  ASSERT_EQ(input_changes(then, now).size(), 1u);
  EXPECT_NE(input_changes(then, now)[0].find("the fold's training, validation or test videos differ"),
            std::string::npos);
}

TEST(RunInputs, FingerprintChangesNameTheOptions) {
  EXPECT_EQ(fingerprint_changes("epochs=3 lr=0x1p-10 seed=9 fold=0", "epochs=3 lr=0x1p-9 seed=10 fold=0"),
            "lr 0x1p-10 in the checkpoint, 0x1p-9 now, seed 9 in the checkpoint, 10 now");
  EXPECT_EQ(fingerprint_changes("epochs=3 fold=0", "epochs=3 normalise=standardise fold=0"),
            "normalise unset in the checkpoint, standardise now");
  EXPECT_EQ(fingerprint_changes("epochs=3 weight_decay=0x1p-7", "epochs=3"),
            "weight_decay 0x1p-7 in the checkpoint, unset now");
  // Not key=value (an --init path with a space): both whole.
  EXPECT_EQ(fingerprint_changes("init=/a b", "init=/c"), "checkpoint: init=/a b; now: init=/c");
}

}  // namespace
}  // namespace hl
