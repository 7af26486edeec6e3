// hl-train: k-fold cross-validated training of the paper's highlight model, or of the
// VASNet baseline (--model vasnet), on a folder of feature files and a label CSV
// (specs/paper.md, "Training" and "VASNet baseline"). Per fold it writes
// OUT/fold-<i>/{model.safetensors, checkpoint.safetensors, test.pred.csv, metrics.json};
// at the end OUT/predictions.csv (every held-out prediction), OUT/summary.json and a
// table on the terminal. --resume continues a killed run where it stopped, with results
// bit-identical to an uninterrupted run.
#include <algorithm>
#include <cfloat>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <map>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/atomic_file.h"
#include "engine/error.h"
#include "engine/evaluation.h"
#include "engine/log.h"
#include "engine/segment_scores.h"
#include "pipeline/segment_dataset.h"
#include "pipeline/shard_env.h"
#include "pipeline/trainer.h"
#include "tools/cli_common.h"
#include "tools/report.h"
#include "tools/train_study.h"
#include "tools/train_final.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;
using hl::report::evaluation_json;
using hl::report::fixed;
using hl::report::print_table;

struct Options {
  std::string features, labels, use = "all", model = "highlight", loss = "ccc", out, init;
  hl::Device device = hl::Device::cpu();
  int folds = 5, epochs = 0, batch = 0, hidden = 0;
  float lr = 0;             // 0: the model's default (1e-3 highlight, 5e-5 vasnet)
  float weight_decay = -1;  // < 0: the model's default (0 highlight, 1e-5 vasnet)
  float target_scale = 0.5f;
  int frame_step = 1;       // vasnet: every N-th 30-fps frame
  std::string normalise = "on";
  uint64_t seed = 1;
  double val_fraction = 0.1;
  bool resume = false;
  bool final_model = false;  // --final: one model on every labelled video (tools/train_final.h)
  std::vector<int> ks{5, 10};
  std::string study;                        // "", "single" or "ablation"
  std::vector<std::string> study_losses{"ccc"};
  std::string shard;     // --study --shard I/N|auto|auto/N: this array element's parts (tools/train_study.h)
  bool collect = false;  // --study --collect: the study from the parts
};



// A real option's check: the whole text a finite number that a float holds, at least
// `lo` (above it when `above`) and at most `hi`; `what` says so in the message ("'nan'
// is not a number above 0"). CLI::PositiveNumber and CLI::Range let "nan" through (every
// comparison with NaN is false: --lr nan trained with the default rate) and "1e39"
// (a float's inf), and print a double's range.
CLI::Validator real_in(double lo, bool above, double hi, const std::string& what) {
  return CLI::Validator(
      [=](const std::string& text) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        const bool whole = !text.empty() && end == text.c_str() + text.size();
        if (whole && std::isfinite(v) && !std::isfinite(static_cast<float>(v)))
          return "'" + text + "' is too large: it is held as a float, at most 3.4e38";
        if (whole && std::isfinite(v) && (above ? v > lo : v >= lo) && v <= hi) return "";
        return "'" + text + "' is not " + what;
      },
      "NUMBER");
}

// --seed: a whole number from 0 to 2^64 - 1 ("-1" would wrap around to 2^64 - 1).
CLI::Validator seed_number() {
  return CLI::Validator(
      [](const std::string& text) -> std::string {
        uint64_t v = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec == std::errc() && end == text.data() + text.size()) return "";
        return "'" + text + "' is not a whole number from 0 to 18446744073709551615";
      },
      "UINT");
}

hl::SegmentScores subset(const hl::SegmentScores& all, const std::vector<std::string>& videos) {
  hl::SegmentScores out;
  for (const auto& v : videos) out[v] = all.at(v);
  return out;
}

// The configuration for `features` from the command line (hidden size by the paper's rule
// unless --hidden is given).
hl::TrainConfig make_config(const Options& opt, const std::vector<hl::Feature>& features, const std::string& loss) {
  hl::TrainConfig config;
  if (opt.model == "vasnet") {
    // VASNet (specs/paper.md): GoogLeNet only, MSE on frame targets, one video per step,
    // Adam lr 5e-5 with weight decay 1e-5; 10 epochs by default (ours).
    config.kind = hl::ModelKind::Vasnet;
    config.model.features = {hl::Feature::GoogLeNet};
    config.epochs = opt.epochs > 0 ? opt.epochs : 10;
    config.batch = 1;  // one video per step; not an option
    config.lr = opt.lr > 0 ? opt.lr : 5e-5f;
    config.weight_decay = opt.weight_decay >= 0 ? opt.weight_decay : 1e-5f;
    config.adam_eps = 1e-8f;  // torch.optim.Adam's default, as the published VASNet code
    config.target_scale = opt.target_scale;
    config.vasnet.frame_step = opt.frame_step;
    config.vasnet.validate();  // a frame step above 150 is refused here, before any data is read
    config.normalise = opt.normalise == "on";
    config.seed = opt.seed;
    config.validation_fraction = opt.val_fraction;
    config.init_model = opt.init;
    config.device = opt.device;
    return config;
  }
  config.model = hl::HighlightModelConfig::paper(features);
  if (opt.hidden > 0) config.model.hidden = opt.hidden;
  config.loss = loss == "ranking" ? hl::LossKind::Ranking : hl::LossKind::Ccc;
  const bool ccc = config.loss == hl::LossKind::Ccc;
  config.epochs = opt.epochs > 0 ? opt.epochs : (ccc ? 20 : 10);
  config.batch = opt.batch > 0 ? opt.batch : (ccc ? 300 : 64);
  config.lr = opt.lr > 0 ? opt.lr : 1e-3f;
  config.weight_decay = opt.weight_decay > 0 ? opt.weight_decay : 0.0f;
  config.normalise = opt.normalise == "on";
  config.seed = opt.seed;
  config.validation_fraction = opt.val_fraction;
  config.init_model = opt.init;
  config.device = opt.device;
  return config;
}


// One cross-validated experiment in `out`: every fold, then the pooled held-out
// evaluation. Prints the per-fold table and writes OUT/predictions.csv and
// OUT/summary.json. Returns the pooled evaluation.
hl::Evaluation run_experiment(const Options& opt, const hl::TrainConfig& config, const hl::SegmentScores& labels,
                              const std::string& out, const std::string& loss_name,
                              const hl::study::FoldSelection& selection = {}) {
  const hl::SegmentDataset data = hl::SegmentDataset::open(opt.features, labels, config.model.features, opt.labels);
  // What every fold's checkpoint records and --resume compares (pipeline/run_inputs.h).
  const hl::InputRecord inputs = hl::record_inputs(data, opt.features, opt.labels);
  const std::vector<hl::FoldPlan> plans = hl::plan_folds(data.videos(), opt.folds, opt.seed, opt.val_fraction);
  if (config.kind == hl::ModelKind::Vasnet)
    HL_LOG(Info) << out << ": " << data.videos().size() << " videos, " << data.size()
                 << " segments; VASNet on googlenet (frame step " << config.vasnet.frame_step
                 << (config.normalise ? ", standardised" : "") << "), frame MSE, " << config.epochs
                 << " epochs of one video per step, " << opt.folds << " folds";
  else
    HL_LOG(Info) << out << ": " << data.videos().size() << " videos, " << data.size() << " segments; features "
                 << hl::feature_list_string(config.model.features) << ", hidden " << config.model.hidden << ", "
                 << loss_name << " loss, " << config.epochs << " epochs, batch " << config.batch << ", " << opt.folds
                 << " folds" << (config.normalise ? ", standardised inputs" : "");
  fs::create_directories(out);

  ordered_json folds = ordered_json::array();
  hl::SegmentScores all_predictions;
  std::vector<std::vector<std::string>> rows = {{"fold", "test videos", "best epoch", "val ndcg@10"}};
  for (int k : opt.ks) {
    const std::string s = std::to_string(k);
    rows[0].insert(rows[0].end(), {"ndcg@" + s, "p@" + s});
  }
  for (const hl::FoldPlan& plan : plans) {
    if (selection.only && !selection.only->count(plan.fold)) continue;  // another array element's part
    const std::string dir = (fs::path(out) / ("fold-" + std::to_string(plan.fold + 1))).string();
    const hl::FoldOutcome outcome = hl::train_fold(
        data, plan, config, dir, opt.resume || selection.resume,
        [](const hl::EpochReport& r) {
          HL_LOG(Info) << "fold " << r.fold + 1 << " epoch " << r.epoch << ": loss " << fixed(r.loss)
                       << ", validation ndcg@10 " << fixed(r.validation) << (r.best ? " (best so far)" : "");
        },
        inputs);
    const hl::Evaluation ev = hl::evaluate_rankings(subset(labels, plan.test), outcome.test_predictions, opt.ks,
                                                    opt.labels, dir + "/test.pred.csv");
    ordered_json fold = {{"fold", plan.fold + 1},
                         {"best_epoch", outcome.best_epoch},
                         {"validation_ndcg@10",
                          std::isfinite(outcome.best_validation) ? ordered_json(outcome.best_validation) : ordered_json()},
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

  if (selection.only) return {};  // a part of a study: --collect pools the folds
  // Every held-out prediction together: the cross-validated result, as the paper reports it.
  hl::write_predictions_csv((fs::path(out) / "predictions.csv").string(), all_predictions);
  const hl::Evaluation pooled = hl::evaluate_rankings(labels, all_predictions, opt.ks, opt.labels, "predictions.csv");
  std::vector<std::string> all_row = {"all", std::to_string(pooled.videos.size()), "", ""};
  std::vector<std::string> chance_row = {"chance", "", "", ""};
  for (int k : opt.ks) {
    const std::string s = std::to_string(k);
    all_row.insert(all_row.end(), {fixed(pooled.mean_of("ndcg@" + s)), fixed(pooled.mean_of("p@" + s))});
    chance_row.insert(chance_row.end(),
                      {fixed(pooled.mean_of("chance_ndcg@" + s)), fixed(pooled.mean_of("chance_p@" + s))});
  }
  rows.push_back(all_row);
  rows.push_back(chance_row);
  print_table(rows);
  const bool vasnet = config.kind == hl::ModelKind::Vasnet;
  ordered_json summary_config = {{"model", vasnet ? "vasnet" : "highlight"},
                                 {"features", hl::feature_list_string(config.model.features)}};
  if (vasnet) {
    summary_config["loss"] = "mse";
    summary_config["target_scale"] = config.target_scale;
    summary_config["residual_dropout"] = config.vasnet.residual_dropout;
    summary_config["frame_step"] = config.vasnet.frame_step;
  } else {
    summary_config["hidden"] = config.model.hidden;
    summary_config["loss"] = loss_name;
    summary_config["batch"] = config.batch;
  }
  summary_config["normalise"] = config.normalise;
  summary_config["epochs"] = config.epochs;
  summary_config["lr"] = config.lr;
  summary_config["weight_decay"] = config.weight_decay;
  summary_config["adam_eps"] = config.adam_eps;
  summary_config["seed"] = config.seed;
  summary_config["folds"] = opt.folds;
  summary_config["validation_fraction"] = opt.val_fraction;
  summary_config["init"] = opt.init;
  const ordered_json summary = {{"config", summary_config},
                                {"folds", folds},
                                {"all", evaluation_json(pooled)}};
  hl::write_text_atomic((fs::path(out) / "summary.json").string(), summary.dump(2) + "\n");
  return pooled;
}

int train(const Options& opt) {
  if (opt.model == "vasnet") {
    // VASNet is one fixed network over GoogLeNet frames: the highlight model's options do not apply.
    if (opt.use != "all" && opt.use != "googlenet")
      throw hl::Error("--model vasnet uses googlenet features only (got --use " + opt.use + ")");
    if (opt.loss != "ccc") throw hl::Error("--model vasnet trains with MSE on frame targets; --loss does not apply");
    if (opt.batch > 0) throw hl::Error("--model vasnet trains on one video per step; --batch does not apply");
    if (opt.hidden > 0) throw hl::Error("--model vasnet has no --hidden size");
    if (!opt.study.empty()) throw hl::Error("--study runs the highlight model; it does not apply to --model vasnet");
  } else if (opt.target_scale != 0.5f) {
    throw hl::Error("--target-scale applies to --model vasnet only");
  } else if (opt.frame_step != 1) {
    throw hl::Error("--frame-step applies to --model vasnet only (the highlight model reads 150 frames per segment)");
  }
  // Checked before any data is read: a run asked for CUDA never falls back to the CPU.
  if (!opt.device.is_cpu()) {
    try {
      (void)hl::Tensor::empty({1}, hl::DType::F32, opt.device);  // says why when it cannot
    } catch (const hl::Error& e) {  // the backend's message says what to do (engine/cuda/backend.cpp)
      throw hl::Error("--device " + opt.device.str() + ": " + e.what());
    }
  }
  const hl::SegmentScores labels = hl::read_segment_scores(opt.labels);
  if (opt.final_model) {
    if (!opt.study.empty()) throw hl::Error("--final trains one model; --study does not apply");
    if (opt.model == "vasnet") throw hl::Error("--final trains the highlight model (hl-highlights scores with it), not vasnet");
    return hl::cli::train_final(make_config(opt, hl::parse_feature_list(opt.use), opt.loss), opt.features, opt.labels,
                                labels, opt.out, opt.resume);
  }
  if ((!opt.shard.empty() || opt.collect) && opt.study.empty())
    throw hl::Error("--shard and --collect split a --study into array-job parts; a single model trains on one machine");
  if (!opt.study.empty()) {
    const hl::study::StudyOptions study{opt.study, opt.use, opt.study_losses, opt.ks, opt.folds, opt.out};
    const auto config_for = [&](const std::vector<hl::Feature>& features, const std::string& loss) {
      return make_config(opt, features, loss);
    };
    const auto run = [&](const hl::TrainConfig& config, const std::string& out, const std::string& loss,
                         const hl::study::FoldSelection& selection) {
      return run_experiment(opt, config, labels, out, loss, selection);
    };
    if (opt.collect) return hl::study::collect_study(study, config_for, run);
    if (!opt.shard.empty()) {
      const hl::ShardChoice shard = hl::resolve_shard(opt.shard);
      return hl::study::run_study_shard(study, shard.shard, shard.source, config_for, run);
    }
    hl::study::run_study(study, config_for, run, opt.resume);
    return 0;
  }
  const std::vector<hl::Feature> use =
      opt.model == "vasnet" ? std::vector<hl::Feature>{hl::Feature::GoogLeNet} : hl::parse_feature_list(opt.use);
  run_experiment(opt, make_config(opt, use, opt.loss), labels, opt.out, opt.model == "vasnet" ? "mse" : opt.loss);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  hl::cli::Tool tool("train", "Train the highlight model (or the VASNet baseline) with k-fold cross-validation and "
                              "evaluate the held-out folds.");
  Options opt;
  CLI::App& app = tool.app();
  app.add_option("--features", opt.features, "folder of feature files <video>.safetensors")
      ->required()->check(CLI::ExistingDirectory)->option_text("DIR");
  app.add_option("--labels", opt.labels, "label CSV: video,segment,score")->required()->check(CLI::ExistingFile)
      ->option_text("CSV");
  app.add_option("--out", opt.out, "output folder")->required()->option_text("DIR");
  app.add_option("--use", opt.use, "features the model uses: all, or e.g. googlenet,mfcc")->capture_default_str();
  app.add_option("--model", opt.model,
                 "highlight (the paper's model), or vasnet (the baseline: googlenet frames, self-attention, frame MSE, "
                 "one video per step)")
      ->check(CLI::IsMember({"highlight", "vasnet"}))->capture_default_str();
  app.add_option("--loss", opt.loss, "ccc, or ranking (siamese margin ranking over pairs of the same video)")
      ->check(CLI::IsMember({"ccc", "ranking"}))->capture_default_str();
  app.add_option("--folds", opt.folds, "cross-validation folds (split by video)")->check(CLI::Range(2, 1000))
      ->capture_default_str();
  app.add_option("--epochs", opt.epochs, "epochs per fold (default: 20 for ccc, 10 for ranking and vasnet)")
      ->check(CLI::Range(1, 100000));
  app.add_option("--batch", opt.batch, "segments (ccc) or pairs (ranking) per step (default: 300 / 64)")
      ->check(CLI::Range(2, 1000000));
  app.add_option("--lr", opt.lr, "Adam learning rate (default: 1e-3; vasnet 5e-5)")
      ->check(real_in(0, true, FLT_MAX, "a number above 0"));
  app.add_option("--weight-decay", opt.weight_decay, "Adam L2 weight decay (default: 0; vasnet 1e-5)")
      ->check(real_in(0, false, FLT_MAX, "a number of 0 or more"));
  app.add_option("--target-scale", opt.target_scale,
                 "vasnet: a frame's MSE target is its segment's label times this (labels [0, 2] -> the sigmoid's (0, 1))")
      ->check(real_in(0, true, FLT_MAX, "a number above 0"))->capture_default_str();
  app.add_option("--frame-step", opt.frame_step,
                 "vasnet: attend over every N-th 30-fps frame (15: 2 fps, as the published VASNet); at most 150 so "
                 "that every 5-s segment keeps a frame; a segment's score is the mean over its kept frames")
      ->check(hl::cli::positive_integer())->capture_default_str();
  app.add_option("--normalise", opt.normalise,
                 "standardise each input channel with the mean and std of the fold's training videos (stored in the "
                 "model file; fine-tuning keeps the initial model's), or off")
      ->check(CLI::IsMember({"on", "off"}))->capture_default_str();
  app.add_option("--seed", opt.seed, "seed of everything random (folds, init, dropout, order, pairs)")
      ->check(seed_number())->capture_default_str();
  app.add_option("--val-fraction", opt.val_fraction, "part of each fold's training videos used for model selection")
      ->check(real_in(0, false, 0.9, "a number from 0 to 0.9"))->capture_default_str();
  app.add_option("--hidden", opt.hidden, "BiLSTM units per direction (default: the paper's rule for --use)")
      ->check(CLI::Range(1, 4096));
  app.add_option("--init", opt.init, "fine-tune: start every fold from this model file")->check(CLI::ExistingFile)
      ->option_text("MODEL");
  app.add_option("--k", opt.ks, "cut-offs to report")->delimiter(',')->check(hl::cli::positive_integer())
      ->option_text("K,... (default 5,10)");
  hl::cli::add_device_option(app, opt.device,
                             "where to train: cpu (default), or a CUDA device: cuda (device 0) or cuda:N "
                             "(not yet verified on a GPU)");
  app.add_flag("--resume", opt.resume, "continue a previous run in --out from its checkpoints");
  app.add_flag("--final", opt.final_model,
               "train one deployment model on every labelled video (--val-fraction of them picks the epoch; --folds "
               "unused): OUT/model.safetensors for hl-highlights, OUT/predictions.csv");
  app.add_option("--study", opt.study,
                 "run a paper study instead of one model: single (Table 1: one model per feature of --use) or "
                 "ablation (Table 2: all of --use, and each leave-one-out); writes OUT/study.md and OUT/study.json")
      ->check(CLI::IsMember({"single", "ablation"}));
  app.add_option("--study-losses", opt.study_losses, "losses of the study's columns, e.g. ccc,ranking")
      ->delimiter(',')->check(CLI::IsMember({"ccc", "ranking"}))->option_text("LOSS,... (default ccc)");
  app.add_option("--shard", opt.shard,
                 "with --study: train only this array element's (model, fold) parts into OUT (part i of the study is "
                 "shard i mod N; auto: from a Slurm array or, as auto/N, a Kubernetes Indexed Job; docs/scale-out.md)")
      ->option_text("I/N|auto|auto/N");
  app.add_flag("--collect", opt.collect,
               "with --study: once every shard is done, write OUT/study.md and OUT/study.json from the parts (the "
               "same files as an unsharded study); lists the missing parts and exits 1 otherwise")
      ->excludes("--shard");
  app.footer("Example:\n  hl-synth --out data --videos 40\n  hl-train --features data/features --labels data/labels.csv "
             "--out runs/all --folds 5\n");
  return tool.run(argc, argv, [&] { return train(opt); });
}
