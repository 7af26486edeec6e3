// Scoring a video with a deployment model: see highlights.h.
#include "pipeline/highlights.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <numeric>

#include "engine/error.h"
#include "engine/safetensors.h"
#include "pipeline/feature_file.h"
#include "pipeline/final_model.h"
#include "pipeline/segment_dataset.h"
#include "pipeline/trainer.h"

namespace hl {

ModelRequirements model_requirements(const std::map<std::string, std::string>& metadata, const std::string& model_path) {
  ModelRequirements needs;
  needs.features = HighlightModelConfig::from_metadata(metadata, model_path).features;
  for (Feature f : needs.features) {
    try {
      check_extractable(f);
    } catch (const Error& e) {
      throw Error(model_path + ": the model needs the feature '" + feature_spec(f).name +
                  "', which this build cannot compute (" + e.what() + ")");
    }
  }
  const auto get = [&](const std::string& key) -> std::optional<std::string> {
    const auto it = metadata.find(key);
    return it == metadata.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  if (const auto seconds = get(final_meta::kSegmentSeconds); seconds && *seconds != std::to_string(kSegmentSeconds))
    throw Error(model_path + ": the model scores " + *seconds + "-s segments; this hl scores " +
                std::to_string(kSegmentSeconds) + "-s segments");
  if (const auto fps = get(final_meta::kFps)) {
    try {
      needs.fps = parse_frame_rate(*fps);
    } catch (const Error& e) {
      throw Error(model_path + ": model metadata '" + final_meta::kFps + "' is '" + *fps + "': " + e.what());
    }
  }
  needs.has_provenance = get(final_meta::kFinal).has_value();
  if (!needs.has_provenance) return needs;
  std::optional<Feature> step_from;  // the feature whose extractor name gave needs.faces_step
  for (Feature f : needs.features) {
    const auto extractor = get(feature_meta::extractor_key(f));
    const auto weights = get(feature_meta::weights_key(f));
    if (!extractor || !weights)
      throw Error(model_path + ": the final model does not record how its '" + feature_spec(f).name +
                  "' features were made (no " + feature_meta::extractor_key(f) + " / " + feature_meta::weights_key(f) +
                  ")");
    if (*extractor == final_meta::kUnknown)
      throw Error(model_path + ": the model was trained on '" + feature_spec(f).name +
                  "' features that do not say how they were made (e.g. hl-synth's); retrain it with --final on "
                  "features made by hl-extract");
    needs.identity[f] = {*extractor, *weights};
    if (f == Feature::Faces || f == Feature::Affect) {
      // faces and affect share one detection per frame, so one step. A step that cannot be
      // read back is left at 1: check_visual_extractor_matches then reports the extractor
      // that differs.
      if (const auto step = faces_step_of(f, *extractor, needs.fps)) {
        if (step_from && *step != needs.faces_step)
          throw Error(model_path + ": its '" + feature_spec(*step_from).name + "' features were detected every " +
                      std::to_string(needs.faces_step) + " frames and its '" + feature_spec(f).name +
                      "' features every " + std::to_string(*step) +
                      " (hl-extract --faces-step); one extraction cannot make both: retrain it on features "
                      "extracted together");
        needs.faces_step = *step;
        step_from = f;
      }
    }
  }
  return needs;
}

std::optional<int64_t> faces_step_of(Feature f, const std::string& extractor, FrameRate fps) {
  if (f != Feature::Faces && f != Feature::Affect) return std::nullopt;
  static const std::string kMarker = "detected every ";
  const size_t at = extractor.find(kMarker);
  if (at == std::string::npos) return std::nullopt;
  const char* digits = extractor.c_str() + at + kMarker.size();
  char* end = nullptr;
  errno = 0;
  const long long step = std::strtoll(digits, &end, 10);
  if (end == digits || errno != 0 || step < 1) return std::nullopt;
  // The whole name must be the feature's extractor name with that step (not a look-alike),
  // made on either device (faces and affect run in f32 on both).
  for (const char* precision : {"f32 cpu", "f32 cuda"})
    if (extractor_name(f, fps, precision, step) == extractor) return step;
  return std::nullopt;
}

void check_feature_file_matches(const ModelRequirements& needs, const std::string& feature_path,
                                const std::string& model_path) {
  const SafetensorsFile file = SafetensorsFile::open(feature_path);
  const FrameRate fps = feature_file_fps(file, feature_path);
  if (fps.num * needs.fps.den != needs.fps.num * fps.den)
    throw Error(feature_path + ": features at " + frame_rate_string(fps) + " fps; " + model_path + " needs " +
                frame_rate_string(needs.fps));
  if (!needs.has_provenance) return;
  const auto& meta = file.metadata();
  for (const auto& [f, identity] : needs.identity) {
    const auto differs = [&](const std::string& key, const std::string& wanted) {
      const auto it = meta.find(key);
      const std::string have = it == meta.end() ? std::string("(none)") : it->second;
      if (have != wanted)
        throw Error(feature_path + ": its '" + feature_spec(f).name + "' features were made differently from those " +
                    model_path + " was trained on: " + key + " is '" + have + "', the model's is '" + wanted + "'" +
                    (key == feature_meta::weights_key(f) ? " (other weights: use the --weights the model was trained with)"
                                                         : " (another extractor or --device)"));
    };
    differs(feature_meta::extractor_key(f), identity.extractor);
    differs(feature_meta::weights_key(f), identity.weights);
  }
}

void check_visual_extractor_matches(const ModelRequirements& needs, const VisualFeatureExtractor& visual,
                                    const std::string& model_path) {
  if (!needs.has_provenance) return;
  for (Feature f : needs.features) {
    if (!is_visual_feature(f)) continue;
    const ExtractorIdentity& want = needs.identity.at(f);
    const std::string name = feature_spec(f).name;
    const std::string would_make = extractor_name(f, needs.fps, visual.precision(f), visual.faces_step());
    if (would_make != want.extractor)
      throw Error(model_path + ": its '" + name + "' features were made by '" + want.extractor +
                  "'; this run would make them with '" + would_make +
                  "' (use the --device the training features were extracted on)");
    if (visual.weights_sha256(f) != want.weights)
      throw Error(model_path + ": its '" + name + "' features were made with weights of SHA-256 " + want.weights +
                  "; the weights in use have " + visual.weights_sha256(f) +
                  " (use the weights folder the training features were extracted with)");
  }
}

std::vector<float> score_feature_file(const HighlightModel& model, const std::string& features_dir,
                                      const std::string& id, int batch) {
  const std::string path = feature_file_path(features_dir, id);
  int64_t segments = 0;
  {
    const SafetensorsFile file = SafetensorsFile::open(path);
    segments = complete_segments(feature_file_frames(file), feature_file_fps(file, path));
  }
  if (segments <= 0) return {};
  // Every complete segment, as a label file would list them (the labels are not used).
  const SegmentScores all = {{id, std::vector<double>(static_cast<size_t>(segments), 0.0)}};
  const SegmentDataset data = SegmentDataset::open(features_dir, all, model.config().features, path);
  std::vector<size_t> indices(data.size());
  std::iota(indices.begin(), indices.end(), size_t{0});
  std::vector<float> scores = predict_segments(model, data, indices, batch);
  for (size_t s = 0; s < scores.size(); ++s)
    if (!std::isfinite(scores[s]))
      throw Error(path + ": the model's score of segment " + std::to_string(s) + " is not finite");
  return scores;
}

std::vector<int64_t> rank_scores(const std::vector<float>& scores) {
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  std::vector<int64_t> rank(scores.size());
  for (size_t r = 0; r < order.size(); ++r) rank[order[r]] = static_cast<int64_t>(r) + 1;
  return rank;
}

std::vector<int64_t> choose_segments(const std::vector<float>& scores, const Selection& selection) {
  const int64_t n = static_cast<int64_t>(scores.size());
  const int64_t wanted = selection.max_seconds > 0
                             ? static_cast<int64_t>(selection.max_seconds / kSegmentSeconds + 1e-9)
                             : selection.top;
  const std::vector<int64_t> rank = rank_scores(scores);
  std::vector<int64_t> chosen;
  for (int64_t s = 0; s < n; ++s)
    if (rank[static_cast<size_t>(s)] <= wanted) chosen.push_back(s);
  return chosen;  // time order
}

}  // namespace hl
