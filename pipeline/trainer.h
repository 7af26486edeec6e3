// Training a model on one cross-validation fold. The highlight model (specs/paper.md,
// "Training"): Adam on CCC loss over shuffled segment batches, or on margin ranking
// loss over pairs of segments of the same video (the siamese model: both clips go
// through the same weights); after every epoch the mean NDCG@k on the fold's
// validation videos, keeping the best epoch's model; at the end the held-out videos'
// predictions from that model. VASNet (specs/paper.md, "VASNet baseline"): one video
// per step (shuffled), MSE between its per-frame scores and frame targets (each frame
// gets its segment's label times `target_scale`), Adam with L2 weight decay; a segment's
// prediction is the mean of its frames' scores; the same folds, model selection,
// checkpoints and resume.
//
// Inputs are standardised per feature and channel (nets/input_normalisation.h) with
// statistics of the fold's training videos only, computed once per fold and stored in
// the model files and the checkpoint; fine-tuning keeps the initial model's statistics.
//
// Files in the fold's folder: checkpoint.safetensors (written atomically after every
// epoch: parameters, Adam's moments and steps, the dropout stream position, the best
// epoch so far, the input statistics and the record of the run's inputs that --resume
// compares; pipeline/checkpoint.h, pipeline/run_inputs.h), model.safetensors (the
// best epoch's model) and test.pred.csv. Every random draw is a function of (seed, fold,
// epoch, step), so a run killed at any point and restarted with resume produces files
// bit-identical to an uninterrupted run. A step whose loss or updated parameters are not
// finite stops the run before anything of its epoch is saved (pipeline/finite_guard.h).
//
// One fold trainer serves every model (pipeline/fold_trainer.h: setup, epochs, model
// selection, checkpoints, test predictions); what is a model's own (its steps and loss,
// its predictions, its fine-tuning check) is a Task: pipeline/highlight_fold.h,
// pipeline/vasnet_fold.h.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/evaluation.h"
#include "engine/segment_scores.h"
#include "nets/highlight_model.h"
#include "pipeline/run_inputs.h"
#include "pipeline/segment_dataset.h"
#include "nets/vasnet.h"

namespace hl {

enum class LossKind { Ccc, Ranking };
enum class ModelKind { Highlight, Vasnet };

struct TrainConfig {
  ModelKind kind = ModelKind::Highlight;
  // The highlight model's configuration; for VASNet only `model.features` is used: the
  // features read from the dataset ({googlenet}).
  HighlightModelConfig model;
  VasnetConfig vasnet;               // ModelKind::Vasnet (its frame_step included)
  LossKind loss = LossKind::Ccc;
  int epochs = 20;                   // the paper: 20 (CCC), 10 (ranking)
  int batch = 300;                   // segments (CCC) or pairs (ranking); the paper: 300, 64;
                                     // unused by VASNet (one video per step)
  float lr = 1e-3f;
  uint64_t seed = 1;
  double validation_fraction = 0.1;  // of each fold's training videos (ours)
  int selection_k = 10;              // model selection: mean NDCG@k on the validation videos
  std::string init_model;            // fine-tuning: start from this model file's weights
  float weight_decay = 0.0f;         // Adam's L2 term (torch.optim.Adam's weight_decay); VASNet: 1e-5
  // Adam's epsilon: the paper's 1e-7 (Keras's default) for the highlight model; VASNet
  // uses 1e-8, torch.optim.Adam's default, which the published VASNet code trains with.
  float adam_eps = 1e-7f;
  // VASNet: a frame's MSE target is its segment's label times this. Ours: labels lie in
  // [0, 2] and the sigmoid's range is (0, 1), so 0.5 maps one onto the other (the
  // published code min-max normalises each video's targets instead).
  float target_scale = 0.5f;
  // Standardise the inputs with the statistics of the fold's training videos (when
  // fine-tuning: the initial model's, which must have them). Off: inputs as they are,
  // results and files bit-identical to builds before input normalisation.
  bool normalise = true;
  // Where the model trains: its parameters, Adam's moments and every batch live there;
  // checkpoints, model files and predictions are the same files either way. A CUDA
  // run's numbers differ from a CPU run's in the last bits, so the device is part of
  // the fingerprint (a run resumes on the device it started on).
  Device device = Device::cpu();

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
// checkpoint must have been made with the same configuration, fold and `inputs`
// (pipeline/run_inputs.h: record_inputs; without one, the labels of `data`, and the
// feature files are not compared). Throws hl::Error on a mismatch or a bad checkpoint,
// and when a step's loss or updated parameters, or a held-out prediction, are not
// finite (pipeline/finite_guard.h): nothing of that epoch is saved then.
FoldOutcome train_fold(const SegmentDataset& data, const FoldPlan& plan, const TrainConfig& config,
                       const std::string& fold_dir, bool resume,
                       const std::function<void(const EpochReport&)>& on_epoch = {}, const InputRecord& inputs = {});

// Scores of the segments `indices` of `data` (evaluation mode: no dropout), inputs
// standardised with the model's input_normalisation().
std::vector<float> predict_segments(const HighlightModel& model, const SegmentDataset& data,
                                    const std::vector<size_t>& indices, int batch);
// VASNet's scores of the segments `indices` (evaluation mode): each video's run of
// consecutive indices is one sequence (its segments' GoogLeNet frames joined, 150 each,
// standardised with the model's input_normalisation(), every config().frame_step-th
// kept), a segment's score is the mean of its kept frames' scores (segment_means).
std::vector<float> predict_segments(const Vasnet& model, const SegmentDataset& data, const std::vector<size_t>& indices);
// The GoogLeNet frames of the segments `indices`, joined and standardised with
// `normalisation`, every `frame_step`-th kept (frames 0, step, ...):
// [kept_frames(n, 150, step), 1024].
Tensor segment_frames(const SegmentDataset& data, const std::vector<size_t>& indices,
                      const InputNormalisation& normalisation = InputNormalisation::none(), int64_t frame_step = 1);

// Writes `video,segment,score` rows, atomically.
void write_predictions_csv(const std::string& path, const SegmentScores& predictions);

}  // namespace hl
