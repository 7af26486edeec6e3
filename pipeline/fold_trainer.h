// The one fold trainer (train_fold, pipeline/trainer.h), written once over the model.
// Every model's fold runs the same way:
//   setup  the fold's folder and seed; a model initialised from the seed, or fine-tuned
//          from config.init_model (every parameter, and its input normalisation); the
//          fold's training, validation and test segments; the parameters moved to the
//          device, Adam; resumed from the checkpoint, or started (input statistics of the
//          training segments);
//   epoch  a seeded order, then steps: each one loss, backward, Adam step, the loss and
//          the updated parameters checked finite (pipeline/finite_guard.h: a step that
//          turns non-finite stops the run before anything of its epoch is saved); after
//          the epoch the mean NDCG@k on the validation videos, the model kept when it is
//          the best so far, the checkpoint (with the record of the run's inputs,
//          pipeline/run_inputs.h, which --resume compares), the report;
//   end    the best epoch's model predicts the test videos (test.pred.csv; checked finite).
// What differs between models is a Task (pipeline/highlight_fold.h, pipeline/vasnet_fold.h),
// a class with:
//   using Model = ...;                              // named_parameters(), parameters(),
//                                                   // input_normalisation(), save(), load()
//   static constexpr const char* kStepUnit;         // what a step is, for the progress bar
//   static void check(const SegmentDataset&, const TrainConfig&);  // before any file is written
//   static Model make(const TrainConfig&, uint64_t seed);          // freshly initialised
//   static void check_init(const Model& init, const TrainConfig&); // fine-tuning: it fits
//   static std::vector<Feature> features(const Model&);            // the inputs it reads
//   explicit Task(const Fold&);                     // throws when the fold cannot train it
//   int begin_epoch(int epoch);                     // the epoch's steps (draws its order)
//   std::optional<ag::Variable> step_loss(const Model&, int epoch, int step,
//                                         uint64_t& dropout_offset);  // nullopt: no step
//   std::vector<size_t> step_segments(int epoch, int step) const;  // what a step reads (messages)
//   std::vector<float> predict(const Model&, const std::vector<size_t>&) const;
// A network to come trains by adding its Task and one line to train_fold.
//
// Every random draw is a function of (seed, fold, epoch, step): Philox streams per purpose
// (stream_id), so a run killed anywhere and resumed writes the same files.
// Tests: tests/tools/test_hl_train.cpp (both models: selection, resume bit-identical,
// fine-tuning, refusals, changed inputs, non-finite training), tests/pipeline/test_trainer_inputs.cpp,
// tests/pipeline/test_training_guards.cpp, tests/cuda/test_cuda_train.cpp.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/autograd/variable.h"
#include "engine/error.h"
#include "engine/optim/adam.h"
#include "engine/progress.h"
#include "pipeline/checkpoint.h"
#include "pipeline/finite_guard.h"
#include "pipeline/input_statistics.h"
#include "pipeline/run_inputs.h"
#include "pipeline/segment_dataset.h"
#include "pipeline/trainer.h"

namespace hl::fold_training {

// Philox stream numbers of the draws, per purpose; (fold, epoch) make them unique.
enum Stream : uint64_t { kValidationSplit = 1, kEpochOrder = 2, kPairs = 3 };
uint64_t stream_id(Stream s, int fold, int epoch);

// The fold being trained, as a Task sees it.
struct Fold {
  const SegmentDataset& data;
  const FoldPlan& plan;
  const TrainConfig& config;
  uint64_t seed = 0;                            // of the model's initial values and every draw
  std::vector<size_t> train, validation, test;  // segment indices, in video then segment order
};

// The fold's files, the fingerprint and the record of inputs its checkpoint must carry,
// and its seed.
struct FoldRun {
  std::string checkpoint_path, model_path, predictions_path, fingerprint;
  InputRecord inputs;  // `inputs` of begin_fold (labels only from the dataset when it has none) + the fold's videos
  uint64_t seed = 0;
};
// Creates `fold_dir`.
FoldRun begin_fold(const TrainConfig& config, const FoldPlan& plan, const std::string& fold_dir,
                   const SegmentDataset& data, const InputRecord& inputs);

// Segment indices of `data` for the given videos, in video then segment order.
std::vector<size_t> segments_of(const SegmentDataset& data, const std::vector<std::string>& videos);
// video -> scores, from scores of the segments `indices` (in video then segment order).
SegmentScores group_by_video(const SegmentDataset& data, const std::vector<size_t>& indices,
                             const std::vector<float>& scores);
// Mean NDCG@config.selection_k of `predict(validation)` on the validation segments (NaN: none).
double validation_score(const std::function<std::vector<float>(const std::vector<size_t>&)>& predict,
                        const SegmentDataset& data, const std::vector<size_t>& validation, const TrainConfig& config);

// Fine-tuning: every parameter value of `to` from the parameter of the same name in `from`.
void copy_parameters(const std::vector<NamedParameter>& from, const std::vector<NamedParameter>& to);
// Fine-tuning keeps the initial model's input normalisation (its weights were trained on
// inputs standardised with it), so config.normalise must agree with whether it has one.
void check_fine_tuning_normalisation(const TrainConfig& config, const InputNormalisation& init);
// Moves every parameter to `device` (before Adam is made, so that its moments are made
// there too). Initialisation happens on the CPU first, so a CUDA run starts from the
// same weights as a CPU run.
void move_parameters(const std::vector<NamedParameter>& params, Device device);
// The device a model's parameters are on.
Device parameter_device(const std::vector<NamedParameter>& params);
optim::Adam make_adam(const std::vector<ag::Variable>& params, const TrainConfig& config);

// A test hook that simulates the process being killed: HL_TEST_KILL_AT="<fold>:<epoch>:<step>"
// ends the process abruptly (no cleanup, like SIGKILL) just before that training step;
// step 0 kills right after the checkpoint of the previous epoch was written.
void maybe_simulate_kill(int fold, int epoch, int step);

// The progress so far: from the fold's checkpoint when resuming (restoring the
// parameters, Adam's state and the input normalisation too), else a fresh start whose
// input normalisation is the initial model's when fine-tuning (`init`), else computed
// from the fold's training segments when config.normalise, else none.
template <typename Task>
TrainingProgress resume_or_start(const FoldRun& run, const Fold& fold, typename Task::Model& model, optim::Adam& adam,
                                 bool resume, const InputNormalisation& init, FoldOutcome& outcome) {
  if (resume && std::filesystem::exists(run.checkpoint_path)) {
    outcome.resumed = true;
    InputNormalisation normalisation;
    const TrainingProgress p = load_checkpoint(run.checkpoint_path, model.named_parameters(), adam, run.fingerprint,
                                               Task::features(model), normalisation, run.inputs);
    model.set_input_normalisation(std::move(normalisation));
    return p;
  }
  if (!fold.config.init_model.empty())
    model.set_input_normalisation(init);
  else if (fold.config.normalise)
    model.set_input_normalisation(compute_input_normalisation(fold.data, fold.train));
  return {};
}

// After an epoch: keep the model when it is the best so far (the first epoch, a strictly
// better validation score, or every epoch when there is no validation part), write the
// checkpoint, report.
template <typename Model>
void end_epoch(const Model& model, EpochReport& report, TrainingProgress& progress, const FoldRun& run,
               const Fold& fold, const optim::Adam& adam, const std::function<void(const EpochReport&)>& on_epoch) {
  const double score = std::isnan(report.validation) ? -INFINITY : report.validation;
  if (progress.best_epoch == 0 || score > progress.best_validation || fold.validation.empty()) {
    progress.best_epoch = report.epoch;
    progress.best_validation = score;
    report.best = true;
    model.save(run.model_path, {{"fold", std::to_string(fold.plan.fold + 1)},
                                {"epoch", std::to_string(report.epoch)},
                                {"validation_ndcg@" + std::to_string(fold.config.selection_k),
                                 hexfloat(report.validation)}});
  }
  progress.epochs_done = report.epoch;
  save_checkpoint(run.checkpoint_path, model.named_parameters(), adam, progress, run.fingerprint,
                  model.input_normalisation(), run.inputs);
  if (on_epoch) on_epoch(report);
}

// One fold of `Task`'s model: see the top of this file and train_fold.
template <typename Task>
FoldOutcome train_fold_of(const SegmentDataset& data, const FoldPlan& plan, const TrainConfig& config,
                          const std::string& fold_dir, bool resume,
                          const std::function<void(const EpochReport&)>& on_epoch, const InputRecord& inputs) {
  using Model = typename Task::Model;
  Task::check(data, config);
  const FoldRun run = begin_fold(config, plan, fold_dir, data, inputs);

  Model model = Task::make(config, run.seed);
  InputNormalisation init_normalisation;
  if (!config.init_model.empty()) {  // fine-tuning: every parameter from the given model
    const Model init = Model::load(config.init_model);
    Task::check_init(init, config);
    check_fine_tuning_normalisation(config, init.input_normalisation());
    copy_parameters(init.named_parameters(), model.named_parameters());
    init_normalisation = init.input_normalisation();
  }
  const Fold fold{data, plan, config, run.seed, segments_of(data, plan.train), segments_of(data, plan.validation),
                  segments_of(data, plan.test)};
  Task task(fold);
  move_parameters(model.named_parameters(), config.device);
  optim::Adam adam = make_adam(model.parameters(), config);
  FoldOutcome outcome;
  TrainingProgress progress = resume_or_start<Task>(run, fold, model, adam, resume, init_normalisation, outcome);
  const auto predict = [&](const std::vector<size_t>& indices) { return task.predict(model, indices); };

  for (int epoch = progress.epochs_done + 1; epoch <= config.epochs; ++epoch) {
    const int steps = task.begin_epoch(epoch);
    ProgressBar bar("fold " + std::to_string(plan.fold + 1) + " epoch " + std::to_string(epoch) + "/" +
                        std::to_string(config.epochs),
                    steps, Task::kStepUnit);
    double loss_sum = 0;
    int loss_count = 0;
    for (int step = 0; step < steps; ++step) {
      maybe_simulate_kill(plan.fold + 1, epoch, step);
      const std::optional<ag::Variable> loss = task.step_loss(model, epoch, step, progress.dropout_offset);
      if (!loss) continue;  // nothing to learn from (e.g. no strictly ordered pair)
      const float loss_value = loss->value().to(Device::cpu()).data<float>()[0];
      if (!std::isfinite(loss_value))
        stop_non_finite(data, plan.fold + 1, epoch, step + 1, steps,
                        std::string("the training loss is ") + (std::isnan(loss_value) ? "NaN" : "infinite"),
                        task.step_segments(epoch, step), progress);
      loss->backward_releasing_graph();  // the step's activations go as the backward pass passes them
      adam.step();
      // The step's result is checked before the gradients are dropped: they say why.
      if (!all_finite(parameter_values(model.named_parameters())))
        stop_non_finite(data, plan.fold + 1, epoch, step + 1, steps,
                        describe_non_finite_parameters(model.named_parameters(), config.lr),
                        task.step_segments(epoch, step), progress);
      adam.zero_grad();
      loss_sum += loss_value;
      ++loss_count;
      char postfix[64];
      std::snprintf(postfix, sizeof postfix, "loss %.4f", loss_sum / loss_count);
      bar.set_postfix(postfix);
      bar.advance();
    }
    bar.finish();
    EpochReport report{plan.fold, epoch, loss_count ? loss_sum / loss_count : NAN,
                       validation_score(predict, data, fold.validation, config), false};
    end_epoch(model, report, progress, run, fold, adam, on_epoch);
  }
  maybe_simulate_kill(plan.fold + 1, config.epochs + 1, 0);

  if (!std::filesystem::exists(run.model_path))
    throw Error("fold " + std::to_string(plan.fold + 1) + ": no epoch was trained");
  const Model best = Model::load(run.model_path);
  move_parameters(best.named_parameters(), config.device);
  outcome.best_epoch = progress.best_epoch;
  outcome.best_validation = progress.best_validation;
  const std::vector<float> test_scores = task.predict(best, fold.test);
  check_predictions(data, plan.fold + 1, fold.test, test_scores, progress.best_epoch);
  outcome.test_predictions = group_by_video(data, fold.test, test_scores);
  write_predictions_csv(run.predictions_path, outcome.test_predictions);
  return outcome;
}

}  // namespace hl::fold_training
