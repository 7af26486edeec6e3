// hl-train --final (docs/highlights.md, "The deployment model"): the command-line side of
// pipeline/final_model.h. Kept apart from hl_train.cpp, which only parses the flag.
#pragma once
#include <string>

#include "engine/segment_scores.h"
#include "pipeline/trainer.h"

namespace hl::cli {

// Trains the final model on every video of `labels` (features in `features_dir`) into
// `out`: OUT/model.safetensors, OUT/checkpoint.safetensors, OUT/predictions.csv (every
// labelled video's score by the final model) and OUT/summary.json; prints one line
// saying where the model is. Returns the exit code (0).
int train_final(const TrainConfig& config, const std::string& features_dir, const std::string& labels_path,
                const SegmentScores& labels, const std::string& out, bool resume);

}  // namespace hl::cli
