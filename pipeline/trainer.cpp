#include "pipeline/trainer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "engine/atomic_file.h"
#include "engine/error.h"
#include "engine/shuffle.h"
#include "pipeline/checkpoint.h"
#include "pipeline/fold_trainer.h"
#include "pipeline/highlight_fold.h"
#include "pipeline/vasnet_fold.h"

namespace hl {

FoldOutcome train_fold(const SegmentDataset& data, const FoldPlan& plan, const TrainConfig& config,
                       const std::string& fold_dir, bool resume,
                       const std::function<void(const EpochReport&)>& on_epoch, const InputRecord& inputs) {
  switch (config.kind) {
    case ModelKind::Highlight:
      return fold_training::train_fold_of<fold_training::HighlightFold>(data, plan, config, fold_dir, resume, on_epoch,
                                                                        inputs);
    case ModelKind::Vasnet:
      return fold_training::train_fold_of<fold_training::VasnetFold>(data, plan, config, fold_dir, resume, on_epoch,
                                                                     inputs);
  }
  throw Error("internal: unknown model kind");
}

std::string TrainConfig::fingerprint() const {
  std::ostringstream o;
  if (kind == ModelKind::Vasnet) {
    o << "model=vasnet";
    for (const auto& [key, value] : vasnet.to_metadata()) o << " " << key << "=" << value;
    o << " epochs=" << epochs << " lr=" << hexfloat(lr) << " eps=" << hexfloat(adam_eps)
      << " weight_decay=" << hexfloat(weight_decay)
      << " target_scale=" << hexfloat(target_scale) << " seed=" << seed << " val=" << hexfloat(validation_fraction)
      << " k=" << selection_k << " init=" << (init_model.empty() ? "-" : init_model);
    if (normalise) o << " normalise=standardise";
    if (!device.is_cpu()) o << " device=cuda";
    return o.str();
  }
  o << "features=" << feature_list_string(model.features) << " hidden=" << model.hidden
    << " dropout=" << model.encoder_dropout << "/" << model.lstm_input_dropout << "/" << model.lstm_recurrent_dropout
    << "/" << model.head_dropout << " loss=" << (loss == LossKind::Ccc ? "ccc" : "ranking") << " epochs=" << epochs
    << " batch=" << batch << " lr=" << hexfloat(lr) << " seed=" << seed << " val=" << hexfloat(validation_fraction)
    << " k=" << selection_k << " init=" << (init_model.empty() ? "-" : init_model);
  if (weight_decay != 0.0f) o << " weight_decay=" << hexfloat(weight_decay);
  if (adam_eps != 1e-7f) o << " eps=" << hexfloat(adam_eps);
  if (normalise) o << " normalise=standardise";
  if (!device.is_cpu()) o << " device=cuda";
  return o.str();
}

std::vector<FoldPlan> plan_folds(const std::vector<std::string>& videos, int folds, uint64_t seed,
                                 double validation_fraction) {
  if (validation_fraction < 0 || validation_fraction >= 1)
    throw Error("the validation fraction must be in [0, 1) (got " + std::to_string(validation_fraction) + ")");
  const std::vector<int> assignment = kfold_assignment(videos.size(), folds, seed);
  std::vector<FoldPlan> plans(static_cast<size_t>(folds));
  for (int f = 0; f < folds; ++f) {
    FoldPlan& plan = plans[static_cast<size_t>(f)];
    plan.fold = f;
    std::vector<std::string> rest;
    for (size_t i = 0; i < videos.size(); ++i) (assignment[i] == f ? plan.test : rest).push_back(videos[i]);
    size_t n_val = 0;
    if (validation_fraction > 0)
      n_val = std::max<size_t>(1, static_cast<size_t>(std::lround(validation_fraction * static_cast<double>(rest.size()))));
    if (n_val >= rest.size())
      throw Error("fold " + std::to_string(f + 1) + " has " + std::to_string(rest.size()) +
                  " training videos: too few to hold out a validation part");
    const std::vector<size_t> order =
        seeded_permutation(rest.size(), seed, fold_training::stream_id(fold_training::kValidationSplit, f, 0));
    std::vector<char> is_val(rest.size(), 0);
    for (size_t i = 0; i < n_val; ++i) is_val[order[i]] = 1;
    for (size_t i = 0; i < rest.size(); ++i) (is_val[i] ? plan.validation : plan.train).push_back(rest[i]);
  }
  return plans;
}

void write_predictions_csv(const std::string& path, const SegmentScores& predictions) {
  std::string text = "video,segment,score\n";
  char buf[64];
  for (const auto& [video, scores] : predictions)
    for (size_t s = 0; s < scores.size(); ++s) {
      std::snprintf(buf, sizeof buf, ",%zu,%.9g\n", s, scores[s]);
      text += video + buf;
    }
  write_text_atomic(path, text);
}

}  // namespace hl
