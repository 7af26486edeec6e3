// hl-train --study: the paper's tables (one row per model, the metrics at each k per loss,
// and chance), and the same study split into parts for array jobs (docs/scale-out.md).
//
// A study is experiments (row x loss: one cross-validated model each, in
// OUT/<loss>/<row>/) and each experiment is folds: a part is one (row, loss, fold), the
// unit a scheduler's array element trains. Parts are numbered row-major (row, then loss,
// then fold, as the unsharded study runs them) and part i belongs to shard i mod N, so the
// shards of one N share the parts evenly, whatever the data.
//
//   run_study         every part, then OUT/study.md and OUT/study.json (the unsharded study)
//   run_study_shard   only this shard's parts, each resumed from its own checkpoint: an
//                     element killed and rerun continues; a part is done when its
//                     fold-<k>/metrics.json is there (written atomically after the fold)
//   collect_study     when every part is done, the unsharded study over them with --resume
//                     (each finished fold only recomputes its test predictions, so the files
//                     are those of an unsharded run, bit for bit on the CPU); else lists the
//                     missing parts and fails
// The model configuration and the experiment itself come from hl-train (callbacks), so
// the study trains exactly what a plain hl-train run would.
#pragma once
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/evaluation.h"
#include "pipeline/extract.h"
#include "pipeline/trainer.h"

namespace hl::study {

struct StudyOptions {
  std::string kind;                 // "single" or "ablation"
  std::string use;                  // --use: the features of the study
  std::vector<std::string> losses;  // --study-losses
  std::vector<int> ks;              // --k
  int folds = 5;
  std::string out;
};

// One row of the table with one loss: a cross-validated experiment in `out`.
struct Experiment {
  std::string row;  // "mfcc", "all", "no mfcc"
  std::vector<Feature> features;
  std::string loss;
  std::string out;  // OUT/<loss>/<row with '-' for ' '>
};
std::vector<Experiment> experiments(const StudyOptions& opt);

// One fold of one experiment.
struct Part {
  size_t experiment = 0;  // into experiments()
  int fold = 0;           // 0-based (its folder is fold-<fold + 1>)
  std::string name;       // "<loss>/<row folder>/fold-<k>", for messages
  std::string dir;        // the fold's folder
};
std::vector<Part> parts(const StudyOptions& opt);
bool part_done(const Part& part);  // fold-<k>/metrics.json exists

// Which folds of an experiment to train: all of them with the pooled evaluation (nullopt),
// or only these (0-based) without it. `resume` continues from the folds' checkpoints.
struct FoldSelection {
  std::optional<std::set<int>> only;
  bool resume = false;
};
using ConfigFor = std::function<TrainConfig(const std::vector<Feature>& features, const std::string& loss)>;
// Trains one experiment; returns the pooled evaluation (empty when `only` is set).
using RunExperiment = std::function<Evaluation(const TrainConfig& config, const std::string& out,
                                               const std::string& loss, const FoldSelection& selection)>;

// The whole study (`resume` as hl-train --resume); writes OUT/study.md and OUT/study.json
// and prints the table.
void run_study(const StudyOptions& opt, const ConfigFor& config_for, const RunExperiment& run, bool resume);
// This shard's parts; prints which it trained. Returns 0.
int run_study_shard(const StudyOptions& opt, const Shard& shard, const std::string& shard_source,
                    const ConfigFor& config_for, const RunExperiment& run);
// Returns 0 after writing the study, or 1 after printing the missing parts to stderr.
int collect_study(const StudyOptions& opt, const ConfigFor& config_for, const RunExperiment& run);

}  // namespace hl::study
