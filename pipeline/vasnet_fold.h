// VASNet's part of a fold (a Task of pipeline/fold_trainer.h; specs/paper.md, "VASNet
// baseline"): a step is one training video (the epoch's seeded order of the fold's
// training videos): its GoogLeNet frames joined, standardised, every frame_step-th kept,
// MSE between the per-frame scores and the frame targets (each kept frame gets its
// segment's label times config.target_scale). Adam's weight decay and epsilon come
// from the TrainConfig like every model's.
// Tests: tests/tools/test_hl_train.cpp (the vasnet runs), tests/pipeline/test_trainer_inputs.cpp
// (segment_frames), tests/cuda/test_cuda_train.cpp.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "nets/vasnet.h"
#include "pipeline/fold_trainer.h"

namespace hl::fold_training {

class VasnetFold {
 public:
  using Model = Vasnet;
  static constexpr const char* kStepUnit = "videos";

  // Throws hl::Error when the dataset has no googlenet features.
  static void check(const SegmentDataset& data, const TrainConfig& config);
  static Model make(const TrainConfig& config, uint64_t seed) { return Vasnet(config.vasnet, seed); }
  // Throws hl::FormatError when the initial model's input width differs.
  static void check_init(const Model& init, const TrainConfig& config);
  static std::vector<Feature> features(const Model&) { return {Feature::GoogLeNet}; }

  // Throws hl::Error when the fold has no training video.
  explicit VasnetFold(const Fold& fold);
  int begin_epoch(int epoch);
  std::optional<ag::Variable> step_loss(const Model& model, int epoch, int step, uint64_t& dropout_offset) const;
  std::vector<float> predict(const Model& model, const std::vector<size_t>& indices) const;
  // The segments step `step` of the current epoch reads: its video's.
  std::vector<size_t> step_segments(int epoch, int step) const;

 private:
  const Fold& fold_;
  std::vector<std::pair<size_t, size_t>> videos_;  // [begin, end) of each training video in fold_.train
  std::vector<size_t> order_;                      // the epoch's order of videos_
};

// Runs of consecutive indices of the same video: [begin, end) pairs into `indices`.
std::vector<std::pair<size_t, size_t>> video_runs(const SegmentDataset& data, const std::vector<size_t>& indices);

}  // namespace hl::fold_training
