// hl-train --final: see train_final.h.
#include "tools/train_final.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/atomic_file.h"
#include "engine/log.h"
#include "pipeline/final_model.h"
#include "pipeline/run_inputs.h"
#include "tools/report.h"

namespace hl::cli {

int train_final(const TrainConfig& config, const std::string& features_dir, const std::string& labels_path,
                const SegmentScores& labels, const std::string& out, bool resume) {
  const SegmentDataset data = SegmentDataset::open(features_dir, labels, config.model.features, labels_path);
  const InputRecord inputs = record_inputs(data, features_dir, labels_path);
  HL_LOG(Info) << out << ": final model on all " << data.videos().size() << " videos (" << data.size()
               << " segments); features " << feature_list_string(config.model.features) << ", hidden "
               << config.model.hidden << ", " << config.epochs << " epochs, batch " << config.batch
               << (config.normalise ? ", standardised inputs" : "");
  std::filesystem::create_directories(out);
  const FinalModelOutcome outcome = train_final_model(
      data, features_dir, config, out, resume,
      [](const EpochReport& r) {
        HL_LOG(Info) << "final epoch " << r.epoch << ": loss " << report::fixed(r.loss) << ", validation ndcg@10 "
                     << report::fixed(r.validation) << (r.best ? " (best so far)" : "");
      },
      inputs);
  const nlohmann::ordered_json summary = {
      {"final", true},
      {"features", feature_list_string(config.model.features)},
      {"hidden", config.model.hidden},
      {"epochs", config.epochs},
      {"best_epoch", outcome.best_epoch},
      {"validation_ndcg@10",
       std::isfinite(outcome.best_validation) ? nlohmann::ordered_json(outcome.best_validation) : nlohmann::ordered_json()},
      {"train_videos", outcome.plan.train},
      {"validation_videos", outcome.plan.validation},
      {"model", outcome.model_path},
      {"predictions", outcome.predictions_path}};
  write_text_atomic((std::filesystem::path(out) / "summary.json").string(), summary.dump(2) + "\n");
  std::printf("final model: %s (epoch %d of %d, validation ndcg@10 %s; %zu training and %zu validation videos)\n"
              "scores of every labelled video by it: %s\n",
              outcome.model_path.c_str(), outcome.best_epoch, config.epochs,
              report::fixed(outcome.best_validation).c_str(), outcome.plan.train.size(),
              outcome.plan.validation.size(), outcome.predictions_path.c_str());
  return 0;
}

}  // namespace hl::cli
