// The deployment model (`hl-train --final`, docs/highlights.md): one highlight model
// trained on every labelled video, the usual seeded validation fraction of them picking
// the epoch, saved as OUT/model.safetensors with what scoring needs to refuse features
// made differently: the segment length, the feature frame rate, and per feature the
// extractor's name and the SHA-256 of its weights, as the feature files record them
// (hl-extract's metadata, docs/extract.md). hl-highlights (pipeline/highlights.h) reads
// them back with read_model_provenance.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "nets/features.h"
#include "nets/segments.h"
#include "pipeline/run_inputs.h"
#include "pipeline/segment_dataset.h"
#include "pipeline/trainer.h"

namespace hl {

// Metadata keys a final model adds to the model file.
namespace final_meta {
inline constexpr const char kFinal[] = "final";                     // "true"
inline constexpr const char kSegmentSeconds[] = "segment_seconds";  // "5"
inline constexpr const char kFps[] = "feature_fps";                 // "30000/1001": the features' frame rate
inline constexpr const char kVideos[] = "training_videos";          // how many labelled videos it saw
// Per feature, the same keys as the feature files: "<feature>.extractor", "<feature>.weights".
// A feature file without them (hl-synth's) is recorded as kUnknown, which scoring refuses.
inline constexpr const char kUnknown[] = "unknown";
}  // namespace final_meta

// The plan of the final model: every video is a "test" video (its scores by the final
// model are written, not held-out predictions), a seeded `validation_fraction` of them
// (at least one when the fraction is positive; the same draw as fold 1's of plan_folds)
// picks the epoch, the rest train. Throws hl::Error when too few videos remain to train.
FoldPlan plan_final(const std::vector<std::string>& videos, uint64_t seed, double validation_fraction);

// What the feature files of `videos` in `features_dir` say about how `features` were
// made: feature_fps and each "<feature>.extractor" / "<feature>.weights" (kUnknown when
// a file does not say). Every file must agree: hl::Error naming the two files and the
// key otherwise (a model trained on a mix could not be matched by any one extraction).
std::map<std::string, std::string> feature_provenance(const std::string& features_dir,
                                                      const std::vector<std::string>& videos,
                                                      const std::vector<Feature>& features);

struct FinalModelOutcome {
  std::string model_path;        // OUT/model.safetensors
  std::string predictions_path;  // OUT/predictions.csv: every labelled video's scores by the final model
  int best_epoch = 0;
  double best_validation = 0;    // NaN when no validation video
  FoldPlan plan;
};

// Trains the final model in `out_dir` with the fold trainer (train_fold: checkpoint,
// resume, model selection as for a fold), then rewrites OUT/model.safetensors (atomically)
// with final_meta's keys and the provenance beside the trainer's metadata, and writes
// OUT/predictions.csv. The highlight model only (config.kind == Highlight).
FinalModelOutcome train_final_model(const SegmentDataset& data, const std::string& features_dir,
                                    const TrainConfig& config, const std::string& out_dir, bool resume,
                                    const std::function<void(const EpochReport&)>& on_epoch,
                                    const InputRecord& inputs);

}  // namespace hl
