// The deployment model: see final_model.h.
#include "pipeline/final_model.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "engine/error.h"
#include "engine/safetensors.h"
#include "engine/shuffle.h"
#include "nets/highlight_model.h"
#include "pipeline/feature_file.h"
#include "pipeline/fold_trainer.h"

namespace hl {

namespace fs = std::filesystem;

FoldPlan plan_final(const std::vector<std::string>& videos, uint64_t seed, double validation_fraction) {
  if (validation_fraction < 0 || validation_fraction >= 1)
    throw Error("the validation fraction must be in [0, 1) (got " + std::to_string(validation_fraction) + ")");
  FoldPlan plan;
  plan.fold = 0;
  plan.test = videos;  // scored by the final model at the end (its predictions.csv)
  size_t n_val = 0;
  if (validation_fraction > 0)
    n_val = std::max<size_t>(1, static_cast<size_t>(std::lround(validation_fraction * static_cast<double>(videos.size()))));
  if (n_val >= videos.size())
    throw Error("--final: " + std::to_string(videos.size()) +
                " labelled videos are too few to hold out a validation part and train on the rest");
  // The draw plan_folds makes for fold 1's validation part, over all videos.
  const std::vector<size_t> order = seeded_permutation(
      videos.size(), seed, fold_training::stream_id(fold_training::kValidationSplit, 0, 0));
  std::vector<char> is_val(videos.size(), 0);
  for (size_t i = 0; i < n_val; ++i) is_val[order[i]] = 1;
  for (size_t i = 0; i < videos.size(); ++i) (is_val[i] ? plan.validation : plan.train).push_back(videos[i]);
  return plan;
}

std::map<std::string, std::string> feature_provenance(const std::string& features_dir,
                                                      const std::vector<std::string>& videos,
                                                      const std::vector<Feature>& features) {
  std::map<std::string, std::string> out;
  std::map<std::string, std::string> first_file;  // key -> the file its value came from
  const auto agree = [&](const std::string& key, const std::string& value, const std::string& path) {
    const auto [it, inserted] = out.emplace(key, value);
    if (inserted) {
      first_file[key] = path;
    } else if (it->second != value) {
      throw Error("--final: the feature files were made differently: " + first_file[key] + " has " + key + " '" +
                  it->second + "', " + path + " has '" + value +
                  "'; extract every video the same way (hl-extract with the same --fps, --device and weights)");
    }
  };
  for (const std::string& video : videos) {
    const std::string path = feature_file_path(features_dir, video);
    const SafetensorsFile file = SafetensorsFile::open(path);
    agree(final_meta::kFps, frame_rate_string(feature_file_fps(file, path)), path);
    const auto& meta = file.metadata();
    for (Feature f : features)
      for (const std::string& key : {feature_meta::extractor_key(f), feature_meta::weights_key(f)}) {
        const auto it = meta.find(key);
        agree(key, it == meta.end() ? std::string(final_meta::kUnknown) : it->second, path);
      }
  }
  return out;
}

FinalModelOutcome train_final_model(const SegmentDataset& data, const std::string& features_dir,
                                    const TrainConfig& config, const std::string& out_dir, bool resume,
                                    const std::function<void(const EpochReport&)>& on_epoch,
                                    const InputRecord& inputs) {
  if (config.kind != ModelKind::Highlight)
    throw Error("--final trains the highlight model only (hl-highlights scores with it)");
  // Read before any training: a dataset of mixed extractions is refused at once.
  std::map<std::string, std::string> extra = feature_provenance(features_dir, data.videos(), config.model.features);
  FinalModelOutcome result;
  result.plan = plan_final(data.videos(), config.seed, config.validation_fraction);
  const FoldOutcome outcome = train_fold(data, result.plan, config, out_dir, resume, on_epoch, inputs);
  result.best_epoch = outcome.best_epoch;
  result.best_validation = outcome.best_validation;
  result.model_path = (fs::path(out_dir) / "model.safetensors").string();
  result.predictions_path = (fs::path(out_dir) / "predictions.csv").string();

  // The trainer's model file, rewritten with the provenance (the parameters and the
  // input statistics unchanged, bit for bit: F32 in, F32 out).
  std::map<std::string, std::string> trained;
  const HighlightModel model = HighlightModel::load(result.model_path, &trained);
  for (const auto& [key, value] : trained)  // the trainer's record of the chosen epoch
    if (key == "epoch" || key.rfind("validation_ndcg@", 0) == 0) extra.emplace(key, value);
  extra[final_meta::kFinal] = "true";
  extra[final_meta::kSegmentSeconds] = std::to_string(kSegmentSeconds);
  extra[final_meta::kVideos] = std::to_string(data.videos().size());
  model.save(result.model_path, extra);
  write_predictions_csv(result.predictions_path, outcome.test_predictions);
  return result;
}

}  // namespace hl
