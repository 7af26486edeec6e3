// hl-train: k-fold cross-validated training of the paper's highlight model on a folder
// of feature files and a label CSV (specs/paper.md, "Training"). Per fold it writes
// OUT/fold-<i>/{model.safetensors, checkpoint.safetensors, test.pred.csv, metrics.json};
// at the end OUT/predictions.csv (every held-out prediction), OUT/summary.json and a
// table on the terminal. --resume continues a killed run where it stopped, with results
// bit-identical to an uninterrupted run.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/atomic_file.h"
#include "engine/error.h"
#include "engine/evaluation.h"
#include "engine/log.h"
#include "engine/segment_scores.h"
#include "nets/segment_dataset.h"
#include "nets/trainer.h"
#include "tools/cli_common.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

struct Options {
  std::string features, labels, use = "all", model = "highlight", loss = "ccc", out, init, device = "cpu";
  int folds = 5, epochs = 0, batch = 0, hidden = 0;
  float lr = 1e-3f;
  uint64_t seed = 1;
  double val_fraction = 0.1;
  bool resume = false;
  std::vector<int> ks{5, 10};
};

ordered_json evaluation_json(const hl::Evaluation& ev) {
  ordered_json mean = ordered_json::object(), videos = ordered_json::object(), skipped = ordered_json::array();
  for (size_t i = 0; i < ev.keys.size(); ++i) mean[ev.keys[i]] = std::isnan(ev.mean[i]) ? ordered_json() : ordered_json(ev.mean[i]);
  for (const auto& v : ev.videos) {
    ordered_json e = {{"segments", v.segments}};
    for (size_t i = 0; i < ev.keys.size(); ++i) e[ev.keys[i]] = v.values[i];
    videos[v.video] = e;
  }
  for (const auto& s : ev.skipped) skipped.push_back({{"video", s.video}, {"reason", s.reason}});
  return {{"mean", mean}, {"count", ev.videos.size()}, {"videos", videos}, {"skipped", skipped}};
}

std::string fixed(double v) {
  if (std::isnan(v)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

hl::SegmentScores subset(const hl::SegmentScores& all, const std::vector<std::string>& videos) {
  hl::SegmentScores out;
  for (const auto& v : videos) out[v] = all.at(v);
  return out;
}

int train(const Options& opt) {
  if (opt.model != "highlight")
    throw hl::Error("--model " + opt.model + " is not available yet (only the paper's highlight model)");
  if (opt.device != "cpu")
    throw hl::Error("training on " + opt.device + " is not available yet: the CUDA versions of the training ops are "
                    "still being written; use --device cpu");
  hl::TrainConfig config;
  config.model = hl::HighlightModelConfig::paper(hl::parse_feature_list(opt.use));
  if (opt.hidden > 0) config.model.hidden = opt.hidden;
  config.loss = opt.loss == "ranking" ? hl::LossKind::Ranking : hl::LossKind::Ccc;
  const bool ccc = config.loss == hl::LossKind::Ccc;
  config.epochs = opt.epochs > 0 ? opt.epochs : (ccc ? 20 : 10);
  config.batch = opt.batch > 0 ? opt.batch : (ccc ? 300 : 64);
  config.lr = opt.lr;
  config.seed = opt.seed;
  config.validation_fraction = opt.val_fraction;
  config.init_model = opt.init;

  const hl::SegmentScores labels = hl::read_segment_scores(opt.labels);
  const hl::SegmentDataset data = hl::SegmentDataset::open(opt.features, labels, config.model.features, opt.labels);
  const std::vector<hl::FoldPlan> plans = hl::plan_folds(data.videos(), opt.folds, opt.seed, opt.val_fraction);
  HL_LOG(Info) << data.videos().size() << " videos, " << data.size() << " segments; features "
               << hl::feature_list_string(config.model.features) << ", hidden " << config.model.hidden << ", "
               << opt.loss << " loss, " << config.epochs << " epochs, batch " << config.batch << ", " << opt.folds
               << " folds";
  fs::create_directories(opt.out);

  ordered_json folds = ordered_json::array();
  hl::SegmentScores all_predictions;
  std::vector<std::vector<std::string>> rows = {{"fold", "test videos", "best epoch", "val ndcg@10"}};
  for (int k : opt.ks) {
    const std::string s = std::to_string(k);
    rows[0].insert(rows[0].end(), {"ndcg@" + s, "p@" + s});
  }
  for (const hl::FoldPlan& plan : plans) {
    const std::string dir = (fs::path(opt.out) / ("fold-" + std::to_string(plan.fold + 1))).string();
    const hl::FoldOutcome outcome = hl::train_fold(data, plan, config, dir, opt.resume, [](const hl::EpochReport& r) {
      HL_LOG(Info) << "fold " << r.fold + 1 << " epoch " << r.epoch << ": loss " << fixed(r.loss) << ", validation ndcg@10 "
                   << fixed(r.validation) << (r.best ? " (best so far)" : "");
    });
    const hl::Evaluation ev = hl::evaluate_rankings(subset(labels, plan.test), outcome.test_predictions, opt.ks,
                                                    opt.labels, dir + "/test.pred.csv");
    ordered_json fold = {{"fold", plan.fold + 1},
                         {"best_epoch", outcome.best_epoch},
                         {"validation_ndcg@10", std::isfinite(outcome.best_validation) ? ordered_json(outcome.best_validation) : ordered_json()},
                         {"train_videos", plan.train},
                         {"validation_videos", plan.validation},
                         {"test_videos", plan.test},
                         {"test", evaluation_json(ev)}};
    hl::write_text_atomic(dir + "/metrics.json", fold.dump(2) + "\n");
    folds.push_back(fold);
    for (const auto& [video, scores] : outcome.test_predictions) all_predictions[video] = scores;
    std::vector<std::string> row = {std::to_string(plan.fold + 1), std::to_string(plan.test.size()),
                                    std::to_string(outcome.best_epoch), fixed(outcome.best_validation)};
    for (int k : opt.ks) {
      row.push_back(fixed(ev.mean_of("ndcg@" + std::to_string(k))));
      row.push_back(fixed(ev.mean_of("p@" + std::to_string(k))));
    }
    rows.push_back(row);
  }

  // Every held-out prediction together: the cross-validated result, as the paper reports it.
  hl::write_predictions_csv((fs::path(opt.out) / "predictions.csv").string(), all_predictions);
  const hl::Evaluation pooled = hl::evaluate_rankings(labels, all_predictions, opt.ks, opt.labels, "predictions.csv");
  std::vector<std::string> all_row = {"all", std::to_string(pooled.videos.size()), "", ""};
  std::vector<std::string> chance_row = {"chance", "", "", ""};
  for (int k : opt.ks) {
    const std::string s = std::to_string(k);
    all_row.insert(all_row.end(), {fixed(pooled.mean_of("ndcg@" + s)), fixed(pooled.mean_of("p@" + s))});
    chance_row.insert(chance_row.end(), {fixed(pooled.mean_of("chance_ndcg@" + s)), fixed(pooled.mean_of("chance_p@" + s))});
  }
  rows.push_back(all_row);
  rows.push_back(chance_row);
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& r : rows)
    for (size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  for (const auto& r : rows) {
    std::string line;
    for (size_t c = 0; c < r.size(); ++c)
      line += (c ? "  " : "") + std::string(width[c] - r[c].size(), ' ') + r[c];
    std::printf("%s\n", line.c_str());
  }
  const ordered_json summary = {{"config", {{"features", hl::feature_list_string(config.model.features)},
                                            {"hidden", config.model.hidden},
                                            {"loss", opt.loss},
                                            {"epochs", config.epochs},
                                            {"batch", config.batch},
                                            {"lr", config.lr},
                                            {"seed", config.seed},
                                            {"folds", opt.folds},
                                            {"validation_fraction", opt.val_fraction},
                                            {"init", opt.init}}},
                                {"folds", folds},
                                {"all", evaluation_json(pooled)}};
  hl::write_text_atomic((fs::path(opt.out) / "summary.json").string(), summary.dump(2) + "\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  hl::cli::Tool tool("train", "Train the highlight model with k-fold cross-validation and evaluate the held-out folds.");
  Options opt;
  CLI::App& app = tool.app();
  app.add_option("--features", opt.features, "folder of feature files <video>.safetensors")
      ->required()->check(CLI::ExistingDirectory)->option_text("DIR");
  app.add_option("--labels", opt.labels, "label CSV: video,segment,score")->required()->check(CLI::ExistingFile)
      ->option_text("CSV");
  app.add_option("--out", opt.out, "output folder")->required()->option_text("DIR");
  app.add_option("--use", opt.use, "features the model uses: all, or e.g. googlenet,mfcc")->capture_default_str();
  app.add_option("--model", opt.model, "model type: highlight (vasnet: not yet)")->capture_default_str();
  app.add_option("--loss", opt.loss, "ccc, or ranking (siamese margin ranking over pairs of the same video)")
      ->check(CLI::IsMember({"ccc", "ranking"}))->capture_default_str();
  app.add_option("--folds", opt.folds, "cross-validation folds (split by video)")->check(CLI::Range(2, 1000))
      ->capture_default_str();
  app.add_option("--epochs", opt.epochs, "epochs per fold (default: 20 for ccc, 10 for ranking)")
      ->check(CLI::Range(1, 100000));
  app.add_option("--batch", opt.batch, "segments (ccc) or pairs (ranking) per step (default: 300 / 64)")
      ->check(CLI::Range(2, 1000000));
  app.add_option("--lr", opt.lr, "Adam learning rate")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--seed", opt.seed, "seed of everything random (folds, init, dropout, order, pairs)")
      ->capture_default_str();
  app.add_option("--val-fraction", opt.val_fraction, "part of each fold's training videos used for model selection")
      ->check(CLI::Range(0.0, 0.9))->capture_default_str();
  app.add_option("--hidden", opt.hidden, "BiLSTM units per direction (default: the paper's rule for --use)")
      ->check(CLI::Range(1, 4096));
  app.add_option("--init", opt.init, "fine-tune: start every fold from this model file")->check(CLI::ExistingFile)
      ->option_text("MODEL");
  app.add_option("--k", opt.ks, "cut-offs to report")->delimiter(',')->check(CLI::PositiveNumber)
      ->option_text("K,... (default 5,10)");
  app.add_option("--device", opt.device, "cpu (cuda: not yet)")->capture_default_str();
  app.add_flag("--resume", opt.resume, "continue a previous run in --out from its checkpoints");
  app.footer("Example:\n  hl-synth --out data --videos 40\n  hl-train --features data/features --labels data/labels.csv "
             "--out runs/all --folds 5\n");
  return tool.run(argc, argv, [&] { return train(opt); });
}
