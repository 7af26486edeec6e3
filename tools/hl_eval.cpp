// hl-eval: the paper's evaluation (specs/paper.md, "Metrics") of predicted segment
// scores against labels, per video and as the mean over videos; and, with --agreement,
// the agreement between annotators (Cronbach's alpha) and between their mean and a
// label file (Kendall's tau-b).
//
// Output: a table on stdout; with --json FILE, the same numbers as JSON:
//   {"mean": {"ndcg@5": …, "ndcg_paper@5": …, "p@5": …, "chance_ndcg@5": …,
//             "chance_p@5": …, …}, "count": N,
//    "videos": {"<id>": {same keys, "segments": n}},
//    "skipped": [{"video": "<id>", "reason": "…"}]}
//   --agreement: {"mean": {"alpha": …, "kendall_tau_b": …}, "count": N,
//                 "distribution": {"alpha": {"min", "p05", "p25", "median", "p75", "p95", "max"}},
//                 "videos": {"<id>": {"alpha": …, "kendall_tau_b": …}}, "skipped": [...]}
// A video is skipped (and listed with the reason) when it has labels but no
// predictions, a different number of segments, or IDCG = 0 at some k (every true score
// in its top k is 0; the paper leaves such videos out of the mean).
// Labels must be >= 0 (they are NDCG's gains); predictions may be any finite number.
// Kendall's tau-b compares the mean annotations exactly as their decimal text says
// (ties are ties whatever the annotators' order; engine/segment_scores.h).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "engine/atomic_file.h"
#include "engine/error.h"
#include "engine/evaluation.h"
#include "engine/metrics.h"
#include "engine/segment_scores.h"
#include "tools/cli_common.h"
#include "tools/report.h"
#include "tools/svg_plots.h"

namespace {

using nlohmann::ordered_json;
using hl::report::evaluation_json;
using hl::report::fixed;
using hl::report::print_table;
using hl::report::write_json;

struct Options {
  std::string labels, agreement, json, boxplot, boxplot_metric, histogram;
  std::vector<std::string> preds, names;
  std::vector<int> ks{5, 10};
};

std::string stem(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  const size_t dot = name.find('.');
  return dot == std::string::npos || dot == 0 ? name : name.substr(0, dot);
}




// Several prediction files against the same labels: one row per file, the per-video
// values of `metric` as a box plot (the paper's Fig. 2), JSON keyed by the names.
int compare(const Options& opt) {
  const hl::SegmentScores labels = hl::read_segment_scores(opt.labels);
  std::vector<std::string> names = opt.names;
  if (names.empty())
    for (const auto& p : opt.preds) names.push_back(stem(p));
  if (names.size() != opt.preds.size())
    throw hl::Error("--names gives " + std::to_string(names.size()) + " names for " + std::to_string(opt.preds.size()) +
                    " prediction files");
  const std::string metric = opt.boxplot_metric.empty() ? "ndcg@" + std::to_string(opt.ks.back()) : opt.boxplot_metric;
  std::vector<std::vector<std::string>> rows = {{"predictions", "videos"}};
  for (int k : opt.ks)
    for (const char* m : {"ndcg@", "ndcg_paper@", "p@"}) rows[0].push_back(m + std::to_string(k));
  ordered_json runs = ordered_json::object();
  std::vector<std::vector<double>> series;
  std::vector<double> chance;
  for (size_t i = 0; i < opt.preds.size(); ++i) {
    const hl::Evaluation ev =
        hl::evaluate_rankings(labels, hl::read_segment_scores(opt.preds[i], hl::ScoreKind::Predictions), opt.ks,
                              opt.labels, opt.preds[i]);
    if (ev.videos.empty()) throw hl::Error(opt.preds[i] + ": no video could be evaluated");
    std::vector<std::string> row = {names[i], std::to_string(ev.videos.size())};
    for (int k : opt.ks)
      for (const char* m : {"ndcg@", "ndcg_paper@", "p@"}) row.push_back(fixed(ev.mean_of(m + std::to_string(k))));
    rows.push_back(row);
    size_t column = ev.keys.size();
    for (size_t c = 0; c < ev.keys.size(); ++c)
      if (ev.keys[c] == metric) column = c;
    if (column == ev.keys.size()) throw hl::Error("--boxplot-metric " + metric + " is not computed (see --k)");
    std::vector<double> values;
    for (const auto& v : ev.videos) values.push_back(v.values[column]);
    series.push_back(values);
    runs[names[i]] = evaluation_json(ev);
    if (i == 0) {
      chance = {};
      for (int k : opt.ks) {
        chance.push_back(ev.mean_of("chance_ndcg@" + std::to_string(k)));
        chance.push_back(NAN);
        chance.push_back(ev.mean_of("chance_p@" + std::to_string(k)));
      }
    }
  }
  std::vector<std::string> chance_row = {"chance (first file's videos)", ""};
  for (double c : chance) chance_row.push_back(std::isnan(c) ? "" : fixed(c));
  rows.push_back(chance_row);
  print_table(rows);
  if (!opt.boxplot.empty()) {
    hl::write_text_atomic(opt.boxplot, hl::plots::box_plot_svg(names, series, metric, "per-video " + metric));
    std::printf("box plot of per-video %s: %s\n", metric.c_str(), opt.boxplot.c_str());
  }
  write_json(opt.json, {{"runs", runs}});
  return 0;
}

int evaluate(const Options& opt) {
  if (opt.preds.size() > 1 || !opt.boxplot.empty()) return compare(opt);
  const std::string& pred = opt.preds[0];
  const hl::SegmentScores labels = hl::read_segment_scores(opt.labels);
  const hl::SegmentScores preds = hl::read_segment_scores(pred, hl::ScoreKind::Predictions);
  const hl::Evaluation ev = hl::evaluate_rankings(labels, preds, opt.ks, opt.labels, pred);
  const std::vector<std::string>& names = ev.keys;
  const int count = static_cast<int>(ev.videos.size());
  ordered_json videos = ordered_json::object(), skipped = ordered_json::array();
  for (const hl::SkippedVideo& s : ev.skipped) skipped.push_back({{"video", s.video}, {"reason", s.reason}});
  for (const hl::VideoEvaluation& v : ev.videos) {
    ordered_json entry = {{"segments", v.segments}};
    for (size_t i = 0; i < names.size(); ++i) entry[names[i]] = v.values[i];
    videos[v.video] = entry;
  }
  if (count == 0) throw hl::Error("no video could be evaluated (" + std::to_string(skipped.size()) + " skipped)");

  ordered_json mean = ordered_json::object();
  for (size_t i = 0; i < names.size(); ++i) mean[names[i]] = ev.mean[i];

  // Table: one row per video, the mean, and chance.
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header = {"video", "segments"};
  for (int k : opt.ks)
    for (const char* m : {"ndcg@", "ndcg_paper@", "p@"}) header.push_back(m + std::to_string(k));
  rows.push_back(header);
  auto metric_row = [&](const std::string& label, const std::string& n, const ordered_json& v, bool chance) {
    std::vector<std::string> row = {label, n};
    for (int k : opt.ks) {
      const std::string s = std::to_string(k);
      row.push_back(fixed(v[(chance ? "chance_ndcg@" : "ndcg@") + s].get<double>()));
      row.push_back(chance ? "" : fixed(v["ndcg_paper@" + s].get<double>()));
      row.push_back(fixed(v[(chance ? "chance_p@" : "p@") + s].get<double>()));
    }
    rows.push_back(row);
  };
  for (const auto& [video, v] : videos.items()) metric_row(video, std::to_string(v["segments"].get<size_t>()), v, false);
  metric_row("mean (" + std::to_string(count) + " videos)", "", mean, false);
  metric_row("chance", "", mean, true);
  print_table(rows);
  for (const auto& s : skipped)
    std::fprintf(stderr, "hl-eval: skipped %s: %s\n", s["video"].get<std::string>().c_str(),
                 s["reason"].get<std::string>().c_str());

  write_json(opt.json, evaluation_json(ev));
  return 0;
}



int agreement(const Options& opt) {
  const hl::Annotations ann = hl::read_annotations(opt.agreement);
  hl::SegmentScores labels;
  if (!opt.labels.empty()) labels = hl::read_segment_scores(opt.labels);
  ordered_json videos = ordered_json::object(), skipped = ordered_json::array();
  std::vector<double> alphas, taus;
  std::vector<std::vector<std::string>> rows = {{"video", "segments", "alpha", "kendall_tau_b"}};
  for (const auto& [video, ratings] : ann.videos) {
    const size_t n = ratings[0].size();
    if (n < 2) {
      skipped.push_back({{"video", video}, {"reason", "fewer than 2 segments"}});
      continue;
    }
    const double alpha = hl::metrics::cronbach_alpha(ratings);
    ordered_json entry = {{"segments", n}, {"alpha", std::isnan(alpha) ? ordered_json() : ordered_json(alpha)}};
    if (!std::isnan(alpha)) alphas.push_back(alpha);
    double tau = NAN;
    if (!opt.labels.empty()) {
      const auto it = labels.find(video);
      if (it == labels.end() || it->second.size() != n) {
        skipped.push_back({{"video", video}, {"reason", it == labels.end() ? "not in " + opt.labels
                                                                            : "segment counts differ from " + opt.labels}});
      } else {
        // tau-b needs only the order of the mean annotations and their ties: the exact
        // ranks (engine/segment_scores.h), not a mean rounded in the annotators' order.
        tau = hl::metrics::kendall_tau_b(ann.mean_ranks.at(video), it->second);
        if (!std::isnan(tau)) taus.push_back(tau);
      }
      entry["kendall_tau_b"] = std::isnan(tau) ? ordered_json() : ordered_json(tau);
    }
    videos[video] = entry;
    rows.push_back({video, std::to_string(n), fixed(alpha), fixed(tau)});
  }
  if (alphas.empty()) throw hl::Error("no video has a defined Cronbach's alpha");
  auto mean_of = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? NAN : s / static_cast<double>(v.size());
  };
  const double mean_alpha = mean_of(alphas), mean_tau = mean_of(taus);
  rows.push_back({"mean (" + std::to_string(alphas.size()) + " videos)", "", fixed(mean_alpha), fixed(mean_tau)});
  print_table(rows);
  ordered_json dist = {{"min", hl::metrics::quantile(alphas, 0)},     {"p05", hl::metrics::quantile(alphas, 0.05)},
                       {"p25", hl::metrics::quantile(alphas, 0.25)},  {"median", hl::metrics::quantile(alphas, 0.5)},
                       {"p75", hl::metrics::quantile(alphas, 0.75)},  {"p95", hl::metrics::quantile(alphas, 0.95)},
                       {"max", hl::metrics::quantile(alphas, 1)}};
  std::printf("alpha distribution: min %s  p05 %s  p25 %s  median %s  p75 %s  p95 %s  max %s\n",
              fixed(dist["min"]).c_str(), fixed(dist["p05"]).c_str(), fixed(dist["p25"]).c_str(),
              fixed(dist["median"]).c_str(), fixed(dist["p75"]).c_str(), fixed(dist["p95"]).c_str(),
              fixed(dist["max"]).c_str());
  if (!opt.histogram.empty()) {
    const double lo = std::min(0.0, std::floor(hl::metrics::quantile(alphas, 0) * 10) / 10);
    hl::write_text_atomic(opt.histogram + "-alpha.svg",
                          hl::plots::histogram_svg(alphas, lo, 1.0, 20, "Cronbach's alpha", "agreement between annotators"));
    if (!taus.empty())
      hl::write_text_atomic(opt.histogram + "-kendall.svg",
                            hl::plots::histogram_svg(taus, -1.0, 1.0, 20, "Kendall's tau-b",
                                                     "mean annotation against " + opt.labels));
  }
  ordered_json mean = {{"alpha", mean_alpha}};
  if (!opt.labels.empty()) mean["kendall_tau_b"] = std::isnan(mean_tau) ? ordered_json() : ordered_json(mean_tau);
  write_json(opt.json, {{"mean", mean},
                        {"count", alphas.size()},
                        {"distribution", {{"alpha", dist}}},
                        {"videos", videos},
                        {"skipped", skipped}});
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  hl::cli::Tool tool("eval", "Evaluate predicted segment scores against labels (NDCG@k, P@k), or annotator agreement.");
  Options opt;
  CLI::App& app = tool.app();
  app.add_option("--labels", opt.labels, "label CSV: video,segment,score (segments numbered 0..n-1, scores >= 0)")
      ->check(CLI::ExistingFile)
      ->option_text("CSV");
  auto* pred = app.add_option("--pred", opt.preds,
                              "prediction CSV in the same layout; repeat to compare several (one row each)")
                   ->check(CLI::ExistingFile)
                   ->option_text("CSV");
  app.add_option("--names", opt.names, "names of the --pred files in tables and plots (default: file names)")
      ->delimiter(',')->option_text("NAME,...");
  app.add_option("--boxplot", opt.boxplot, "write a box plot of the per-video metric of each --pred file (SVG)")
      ->option_text("FILE.svg");
  app.add_option("--boxplot-metric", opt.boxplot_metric, "metric of the box plot (default: ndcg@ the largest k)")
      ->option_text("METRIC");
  app.add_option("--histogram", opt.histogram,
                 "with --agreement: write PREFIX-alpha.svg (and PREFIX-kendall.svg with --labels) histograms")
      ->option_text("PREFIX");
  app.add_option("--k", opt.ks, "cut-offs, comma-separated")->delimiter(',')->check(hl::cli::positive_integer())
      ->option_text("K,... (default 5,10)");
  auto* agree = app.add_option("--agreement", opt.agreement,
                               "annotation CSV: video,segment,<one column per annotator>; prints Cronbach's alpha "
                               "per video and, with --labels, Kendall's tau-b between the mean annotation and the labels")
                    ->check(CLI::ExistingFile)
                    ->option_text("CSV");
  app.add_option("--json", opt.json, "also write the results as JSON to this file (written atomically)")
      ->option_text("FILE");
  pred->excludes(agree);
  app.footer(
      "Examples:\n"
      "  hl-eval --labels labels.csv --pred fold0.pred.csv --k 5,10 --json metrics.json\n"
      "  hl-eval --labels labels.csv --pred all.csv --pred no-cam.csv --boxplot ndcg10.svg\n"
      "  hl-eval --agreement annotations.csv --labels labels.csv --histogram agreement\n");
  // Checked while parsing, so that a missing option is a usage error (exit 2).
  app.parse_complete_callback([&] {
    if (opt.agreement.empty() && (opt.labels.empty() || opt.preds.empty()))
      throw CLI::ValidationError("--labels and --pred are both needed (or --agreement FILE)");
  });
  return tool.run(argc, argv, [&] { return opt.agreement.empty() ? evaluate(opt) : agreement(opt); });
}
