// A fold's training checkpoint (docs/training.md, "Resume"): one
// safetensors file, written atomically after every epoch, with every parameter of the
// model ("param/<name>"), Adam's moments ("adam_m/<name>", "adam_v/<name>") and, in the
// metadata, Adam's step counts, the progress (epochs done, best epoch and its validation
// score, the dropout stream position), the fingerprint of the options the run was made
// with, the record of its inputs ("inputs": labels, feature files and the fold's videos,
// pipeline/run_inputs.h), and the model's input normalisation (its keys and tensors as
// in a model file).
// Any model: the parameters come as named_parameters() (nets/parameter_set.h).
// Tests: tests/tools/test_hl_train.cpp (a run killed at any step and resumed writes
// files bit-identical to an uninterrupted run; a checkpoint of other options or of other
// inputs is refused, naming what changed).
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/optim/adam.h"
#include "nets/features.h"
#include "nets/input_normalisation.h"
#include "nets/parameter_set.h"
#include "pipeline/run_inputs.h"

namespace hl {

// Everything an epoch boundary must carry over, beyond the model and Adam.
struct TrainingProgress {
  int epochs_done = 0;
  int best_epoch = 0;
  double best_validation = -INFINITY;  // mean NDCG@k of best_epoch (-inf: no validation part)
  uint64_t dropout_offset = 0;         // the next unused word of the fold's dropout stream
};

// The exact text of a double ("%a"): checkpoints, fingerprints and model metadata read
// back the very bits written.
std::string hexfloat(double v);

void save_checkpoint(const std::string& path, const std::vector<NamedParameter>& params, const optim::Adam& adam,
                     const TrainingProgress& progress, const std::string& fingerprint,
                     const InputNormalisation& normalisation, const InputRecord& inputs);

// Restores what save_checkpoint wrote into `params` and `adam`; `normalisation` receives
// the statistics of `features` (none when the checkpoint has none: builds before input
// normalisation). Throws hl::FormatError naming `path` when the file is not a
// checkpoint, was made with another `fingerprint` (naming the options that differ) or
// from other `inputs` (naming what changed), or does not match the model; nothing is
// restored then. A checkpoint without a record of its inputs (written before records
// existed) resumes with a warning that its inputs cannot be checked.
TrainingProgress load_checkpoint(const std::string& path, const std::vector<NamedParameter>& params,
                                 optim::Adam& adam, const std::string& fingerprint,
                                 const std::vector<Feature>& features, InputNormalisation& normalisation,
                                 const InputRecord& inputs);

// The options that differ between two fingerprints (space-separated key=value), e.g.
// "seed 9 in the checkpoint, 10 now"; both whole when they are not of that form.
std::string fingerprint_changes(const std::string& then, const std::string& now);

}  // namespace hl
