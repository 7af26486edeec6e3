#include "tools/train_study.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "engine/atomic_file.h"
#include "engine/error.h"
#include "tools/report.h"

namespace hl::study {

namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;
using report::fixed;

// Row label and features of each model: single = one per feature of --use; ablation =
// all of them, then each leave-one-out.
std::vector<std::pair<std::string, std::vector<Feature>>> models(const StudyOptions& opt) {
  const std::vector<Feature> use = parse_feature_list(opt.use);
  std::vector<std::pair<std::string, std::vector<Feature>>> out;
  if (opt.kind == "single") {
    for (Feature f : use) out.push_back({feature_spec(f).name, {f}});
    return out;
  }
  out.push_back({"all", use});
  for (Feature f : use) {
    std::vector<Feature> rest;
    for (Feature g : use)
      if (g != f) rest.push_back(g);
    out.push_back({std::string("no ") + feature_spec(f).name, rest});
  }
  return out;
}

std::string folder_of(const Experiment& e) {
  std::string folder = e.row;  // "no googlenet" -> "no-googlenet"
  std::replace(folder.begin(), folder.end(), ' ', '-');
  return e.loss + "/" + folder;
}

}  // namespace

std::vector<Experiment> experiments(const StudyOptions& opt) {
  std::vector<Experiment> out;
  for (const auto& [row, features] : models(opt))
    for (const std::string& loss : opt.losses) {
      Experiment e{row, features, loss, ""};
      e.out = (fs::path(opt.out) / folder_of(e)).string();
      out.push_back(std::move(e));
    }
  return out;
}

std::vector<Part> parts(const StudyOptions& opt) {
  const std::vector<Experiment> all = experiments(opt);
  std::vector<Part> out;
  for (size_t e = 0; e < all.size(); ++e)
    for (int k = 0; k < opt.folds; ++k) {
      const std::string fold = "fold-" + std::to_string(k + 1);
      out.push_back({e, k, folder_of(all[e]) + "/" + fold, (fs::path(all[e].out) / fold).string()});
    }
  return out;
}

bool part_done(const Part& part) { return fs::exists(fs::path(part.dir) / "metrics.json"); }

void run_study(const StudyOptions& opt, const ConfigFor& config_for, const RunExperiment& run, bool resume) {
  std::vector<std::string> metric_names;
  for (int k : opt.ks) metric_names.push_back("ndcg@" + std::to_string(k));
  for (int k : opt.ks) metric_names.push_back("p@" + std::to_string(k));
  const std::vector<std::string>& losses = opt.losses;

  ordered_json table = ordered_json::object();
  std::string md = "| model | hidden |";
  std::string rule = "|---|---|";
  for (const auto& loss : losses)
    for (const auto& m : metric_names) {
      md += " " + m + (losses.size() > 1 ? " (" + loss + ")" : "") + " |";
      rule += "---|";
    }
  md += "\n" + rule + "\n";
  std::map<std::string, Evaluation> last;  // per loss: for the chance row (chance depends only on the labels)
  for (const auto& [row, features] : models(opt)) {
    std::string line;
    ordered_json entry = ordered_json::object();
    int64_t hidden = 0;
    for (const auto& loss : losses) {
      const TrainConfig config = config_for(features, loss);
      hidden = config.model.hidden;
      Experiment e{row, features, loss, ""};
      const Evaluation ev = run(config, (fs::path(opt.out) / folder_of(e)).string(), loss, FoldSelection{{}, resume});
      ordered_json metrics = ordered_json::object();
      for (const auto& m : metric_names) {
        metrics[m] = ev.mean_of(m);
        line += " " + fixed(ev.mean_of(m)) + " |";
      }
      entry[loss] = metrics;
      last.insert_or_assign(loss, ev);
    }
    entry["hidden"] = hidden;
    entry["features"] = feature_list_string(features);
    table[row] = entry;
    md += "| " + row + " | " + std::to_string(hidden) + " |" + line + "\n";
  }
  std::string chance_line = "| chance | |";
  ordered_json chance = ordered_json::object();
  for (const auto& loss : losses)
    for (const auto& m : metric_names) {
      const double c = last.at(loss).mean_of("chance_" + m);
      chance_line += " " + fixed(c) + " |";
      chance[m] = c;
    }
  md += chance_line + "\n";
  table["chance"] = chance;
  write_text_atomic((fs::path(opt.out) / "study.md").string(), md);
  write_text_atomic((fs::path(opt.out) / "study.json").string(),
                    ordered_json({{"study", opt.kind}, {"rows", table}}).dump(2) + "\n");
  std::printf("\n%s", md.c_str());
}

int run_study_shard(const StudyOptions& opt, const Shard& shard, const std::string& shard_source,
                    const ConfigFor& config_for, const RunExperiment& run) {
  const std::vector<Experiment> all = experiments(opt);
  const std::vector<Part> every = parts(opt);
  std::map<size_t, std::set<int>> mine;  // experiment -> its folds in this shard
  std::vector<std::string> names;
  for (size_t i = 0; i < every.size(); ++i)
    if (static_cast<int64_t>(i % static_cast<size_t>(shard.count)) == shard.index) {
      mine[every[i].experiment].insert(every[i].fold);
      names.push_back(every[i].name);
    }
  for (const auto& [e, folds] : mine)
    run(config_for(all[e].features, all[e].loss), all[e].out, all[e].loss, FoldSelection{folds, true});
  std::printf("hl-train: %s: trained %zu of %zu study parts%s\n", shard_source.c_str(), names.size(), every.size(),
              names.empty() ? "" : ":");
  for (const std::string& n : names) std::printf("  %s\n", n.c_str());
  std::printf("Run hl-train with the same options and --collect (instead of --shard) once every shard is done.\n");
  return 0;
}

int collect_study(const StudyOptions& opt, const ConfigFor& config_for, const RunExperiment& run) {
  const std::vector<Part> every = parts(opt);
  std::vector<std::string> missing;
  for (size_t i = 0; i < every.size(); ++i)
    if (!part_done(every[i])) missing.push_back(every[i].name + " (part " + std::to_string(i) + ")");
  if (!missing.empty()) {
    std::fprintf(stderr,
                 "hl-train: --collect: %zu of %zu study parts are not done yet (no fold-<k>/metrics.json in %s); "
                 "part i belongs to shard i mod N: rerun those shards (they resume), then --collect again:\n",
                 missing.size(), every.size(), opt.out.c_str());
    for (const std::string& m : missing) std::fprintf(stderr, "  missing: %s\n", m.c_str());
    return 1;
  }
  run_study(opt, config_for, run, /*resume=*/true);
  return 0;
}

}  // namespace hl::study
