// Training the highlight model on one cross-validation fold (specs/paper.md,
// "Training"): Adam on CCC loss over shuffled segment batches, or on margin ranking
// loss over pairs of segments of the same video (the siamese model: both clips go
// through the same weights); after every epoch the mean NDCG@k on the fold's
// validation videos, keeping the best epoch's model; at the end the held-out videos'
// predictions from that model.
//
// Files in the fold's folder: checkpoint.safetensors (written atomically after every
// epoch: parameters, Adam's moments and steps, the dropout stream position and the best
// epoch so far), model.safetensors (the best epoch's model) and test.pred.csv. Every
// random draw is a function of (seed, fold, epoch, step), so a run killed at any point
// and restarted with resume produces files bit-identical to an uninterrupted run.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/evaluation.h"
#include "engine/segment_scores.h"
#include "nets/highlight_model.h"
#include "nets/segment_dataset.h"

namespace hl {

enum class LossKind { Ccc, Ranking };

struct TrainConfig {
  HighlightModelConfig model;
  LossKind loss = LossKind::Ccc;
  int epochs = 20;                   // the paper: 20 (CCC), 10 (ranking)
  int batch = 300;                   // segments (CCC) or pairs (ranking); the paper: 300, 64
  float lr = 1e-3f;
  uint64_t seed = 1;
  double validation_fraction = 0.1;  // of each fold's training videos (ours)
  int selection_k = 10;              // model selection: mean NDCG@k on the validation videos
  std::string init_model;            // fine-tuning: start from this model file's weights

  // A one-line description of everything that changes the results, stored in
  // checkpoints so that --resume refuses a run with other options.
  std::string fingerprint() const;
};

struct FoldPlan {
  int fold = 0;
  std::vector<std::string> train, validation, test;  // video ids
};

// The folds of a k-fold cross-validation by video: test = one fold, validation = a
// seeded `validation_fraction` of the other folds' videos (at least one when the
// fraction is positive), train = the rest.
std::vector<FoldPlan> plan_folds(const std::vector<std::string>& videos, int folds, uint64_t seed,
                                 double validation_fraction);

struct EpochReport {
  int fold = 0;
  int epoch = 0;           // 1-based
  double loss = 0;         // mean training loss of the epoch
  double validation = 0;   // mean NDCG@k on the validation videos (NaN when none)
  bool best = false;
};

struct FoldOutcome {
  int best_epoch = 0;
  double best_validation = 0;
  SegmentScores test_predictions;  // video -> score per segment
  bool resumed = false;            // training continued from a checkpoint
};

// Trains fold `plan` in `fold_dir` (created if needed). With `resume`, continues from
// the folder's checkpoint (a finished fold only recomputes its test predictions); the
// checkpoint must have been made with the same configuration and fold. Throws hl::Error
// on a mismatch or a bad checkpoint.
FoldOutcome train_fold(const SegmentDataset& data, const FoldPlan& plan, const TrainConfig& config,
                       const std::string& fold_dir, bool resume,
                       const std::function<void(const EpochReport&)>& on_epoch = {});

// Scores of the segments `indices` of `data` (evaluation mode: no dropout).
std::vector<float> predict_segments(const HighlightModel& model, const SegmentDataset& data,
                                    const std::vector<size_t>& indices, int batch);

// Writes `video,segment,score` rows, atomically.
void write_predictions_csv(const std::string& path, const SegmentScores& predictions);

}  // namespace hl
