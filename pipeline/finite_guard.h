// Training stops at the first step that turns non-finite, before anything of it is saved,
// so that no model file, checkpoint or prediction ever holds a NaN or an infinity
// (docs/training.md, "Non-finite training"). Each step checks:
//   the loss     the step's scalar, read back to the host (it is read anyway for the
//                epoch's mean): NaN or ±inf stops before backward;
//   the update   every parameter after Adam's step, which is non-finite when a gradient
//                was (Adam turns a NaN or ±inf gradient into a NaN parameter: m / √v with
//                m and v infinite) or when a finite step overflowed (a huge --lr): one
//                reduction per parameter, Σ 0·x (0 when every element is finite, NaN
//                otherwise: 0·±inf = NaN), added on the device and read back as one
//                scalar. Only when it fails are the gradients looked at, to say which.
// The error names the fold, the epoch, the step and the videos of the step's batch, and
// what the folder still holds (the checkpoint and model of the last good epoch, or
// nothing). Held-out predictions are checked the same way before test.pred.csv is written.
// Tests: tests/pipeline/test_finite_guard.cpp, tests/tools/test_hl_train.cpp (NonFiniteTrainingStops).
#pragma once
#include <string>
#include <vector>

#include "engine/tensor.h"
#include "nets/parameter_set.h"
#include "pipeline/checkpoint.h"
#include "pipeline/segment_dataset.h"

namespace hl::fold_training {

// True when every element of every tensor (f32, any device) is finite.
bool all_finite(const std::vector<Tensor>& tensors);

// The values of `params`.
std::vector<Tensor> parameter_values(const std::vector<NamedParameter>& params);

// Why the parameters are not finite after a step: "the gradient of parameter 'x' is not
// finite (nan)" or "Adam's step (lr ...) made parameter 'x' non-finite from a finite gradient".
std::string describe_non_finite_parameters(const std::vector<NamedParameter>& params, float lr);

// The videos of `segments`, each once, in order of first appearance: "'a', 'b'" (the
// first 20, then how many more).
std::string videos_of(const SegmentDataset& data, const std::vector<size_t>& segments);

// Throws hl::Error: "fold F, epoch E, step S of N: <what>; the step's batch holds the
// videos ...; <what the fold's folder still holds>" (fold, epoch and step 1-based).
[[noreturn]] void stop_non_finite(const SegmentDataset& data, int fold, int epoch, int step, int steps,
                                  const std::string& what, const std::vector<size_t>& segments,
                                  const TrainingProgress& progress);

// Throws hl::Error naming the first non-finite score of `scores` (of the segments
// `indices` of `data`), from the model of `best_epoch` of `fold` (1-based).
void check_predictions(const SegmentDataset& data, int fold, const std::vector<size_t>& indices,
                       const std::vector<float>& scores, int best_epoch);

}  // namespace hl::fold_training
