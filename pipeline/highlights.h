// Scoring a video with a deployment model (hl-highlights, docs/highlights.md): what the
// model needs (its features, the feature frame rate, and for a final model the extractor
// names and weights hashes its training features were made with: pipeline/final_model.h),
// the check that a feature file was made the same way, the scores of every complete 5-s
// segment of a feature file (the same predict_segments, batch and input standardisation
// as hl-train's predictions: equal bit for bit on the CPU), and the ranking and choice of
// the top segments.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "nets/features.h"
#include "nets/highlight_model.h"
#include "nets/segments.h"
#include "pipeline/extract.h"

namespace hl {

// What a model file asks of the features it scores.
struct ModelRequirements {
  std::vector<Feature> features;      // in the paper's order
  FrameRate fps{30000, 1001};         // feature_fps; 30000/1001 for a model that does not say
  bool has_provenance = false;        // a final model: `identity` is what its features were made with
  std::map<Feature, ExtractorIdentity> identity;
  // faces: the detector ran on every faces_step-th frame of the model's training features
  // (hl-extract --faces-step, recorded in the faces extractor name); 1 for a model that
  // does not record it. Extraction for this model must use the same step.
  int64_t faces_step = 1;
};

// From a model file's metadata (HighlightModel::load's). Throws hl::Error naming
// `model_path` when a feature cannot be computed by this build (check_extractable's
// reason), when the model's features were made by something that did not record how
// (kUnknown: hl-synth's), or when its segment length is not 5 s. faces_step is read from
// a final model's faces or affect extractor name (faces_step_of); both must agree.
ModelRequirements model_requirements(const std::map<std::string, std::string>& metadata, const std::string& model_path);

// The --faces-step N of a faces or affect extractor name (extract.h's extractor_name for
// `f` at `fps`): N when `extractor` is exactly that name for some N >= 1, else nullopt
// (also for the other features, which have no step).
std::optional<int64_t> faces_step_of(Feature f, const std::string& extractor, FrameRate fps);

// Throws hl::Error naming the feature file and the model when the file's frame rate,
// or (with provenance) a feature's extractor or weights hash, differs from the model's.
void check_feature_file_matches(const ModelRequirements& needs, const std::string& feature_path,
                                const std::string& model_path);

// Before any video: throws hl::Error naming `model_path` when a final model's visual
// features were made by another extractor (precision and device, and for faces the
// detection step: `visual` must be loaded with needs.faces_step) or from other weights
// than `visual` would make them with. Used by hl-highlights and hl::HighlightDetector.
void check_visual_extractor_matches(const ModelRequirements& needs, const VisualFeatureExtractor& visual,
                                    const std::string& model_path);

// The segment batch hl-train predicts with (its default CCC batch): predictions are the
// same bits whatever the batch only if the products sum in the same order, so the same
// batch is used.
inline constexpr int kScoringBatch = 300;

// Scores [n] of the n = complete_segments(T, fps) segments of feature file
// <features_dir>/<id>.safetensors (evaluation mode, inputs standardised with the model's
// statistics). n == 0 gives an empty vector.
std::vector<float> score_feature_file(const HighlightModel& model, const std::string& features_dir,
                                      const std::string& id, int batch = kScoringBatch);

// Rank of each segment, 1 = the highest score; equal scores rank the earlier segment first.
std::vector<int64_t> rank_scores(const std::vector<float>& scores);

// Which segments to keep: the `top` best-ranked, or (max_seconds > 0) as many of the
// best-ranked as fit in max_seconds (every segment is 5 s: the first floor(max / 5)).
// Fewer when the video has fewer segments.
struct Selection {
  int64_t top = 5;
  double max_seconds = 0;  // > 0: by total duration instead of `top`
};
// The chosen segment indices in time order.
std::vector<int64_t> choose_segments(const std::vector<float>& scores, const Selection& selection);

}  // namespace hl
