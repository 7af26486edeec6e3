// The highlight model's part of a fold (a Task of pipeline/fold_trainer.h; specs/paper.md,
// "Training"): a step is a batch of config.batch training segments in the epoch's seeded
// order with CCC loss (a last batch of one segment is dropped: its CCC is undefined), or
// config.batch seeded pairs of segments of the same video with margin ranking loss
// (margin 1; pairs of equal labels carry no ranking and are left out; the siamese model:
// both clips go through the same weights). Predictions in batches of config.batch.
// Tests: tests/tools/test_hl_train.cpp, tests/cuda/test_cuda_train.cpp.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "nets/highlight_model.h"
#include "pipeline/fold_trainer.h"

namespace hl::fold_training {

class HighlightFold {
 public:
  using Model = HighlightModel;
  static constexpr const char* kStepUnit = "batches";

  // Throws hl::Error for a batch under 2.
  static void check(const SegmentDataset& data, const TrainConfig& config);
  static Model make(const TrainConfig& config, uint64_t seed) { return HighlightModel(config.model, seed); }
  // Throws hl::FormatError when the initial model's features or hidden size differ.
  static void check_init(const Model& init, const TrainConfig& config);
  static std::vector<Feature> features(const Model& model) { return model.config().features; }

  // Throws hl::Error when the fold has fewer than 2 training segments.
  explicit HighlightFold(const Fold& fold);
  int begin_epoch(int epoch);
  std::optional<ag::Variable> step_loss(const Model& model, int epoch, int step, uint64_t& dropout_offset) const;
  std::vector<float> predict(const Model& model, const std::vector<size_t>& indices) const;
  // The segments step `step` of `epoch` (the current one) reads: its batch, or both sides of its pairs.
  std::vector<size_t> step_segments(int epoch, int step) const;

 private:
  // The step's batch of segments in the epoch's order (fewer than 2: no step).
  std::vector<size_t> ccc_batch(int step) const;
  // The step's strictly ordered pairs: `hi` should score above `lo`.
  void ranking_pairs(int epoch, int step, std::vector<size_t>& hi, std::vector<size_t>& lo) const;
  std::optional<ag::Variable> ccc_step(const Model& model, int step, uint64_t& dropout_offset) const;
  std::optional<ag::Variable> ranking_step(const Model& model, int epoch, int step, uint64_t& dropout_offset) const;

  const Fold& fold_;
  std::map<int32_t, std::vector<size_t>> by_video_;  // ranking pairs: the training segments of each video
  std::vector<size_t> order_;                        // the epoch's order of the training segments
};

}  // namespace hl::fold_training
