// hl-dataset: checks and sums up a folder of feature files (pipeline/dataset_check.h,
// docs/scale-out.md), e.g. after the elements of an array job wrote it.
//
//   hl-dataset verify DIR [--labels CSV] [--features LIST]
//       a table of the files (T, fps, seconds, features, status) and every problem, each
//       naming its file; exit 1 when there is any
//   hl-dataset stats DIR
//       per file its size, T and duration; totals; per feature how many files have it and
//       the mean of its values
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "engine/error.h"
#include "pipeline/dataset_check.h"
#include "pipeline/feature_file.h"
#include "tools/cli_common.h"
#include "tools/report.h"

namespace {

using hl::report::fixed;

std::string features_text(const hl::FeatureFileSummary& f) {
  return f.features.empty() ? "-" : hl::feature_list_string(f.features);
}

int verify(const std::string& dir, const std::string& labels, const std::string& features) {
  hl::DatasetCheckOptions options;
  options.labels = labels;
  if (!features.empty()) options.features = hl::parse_feature_list(features);
  const hl::DatasetCheck check = hl::check_dataset(dir, options);
  std::vector<std::vector<std::string>> rows = {{"video", "frames", "fps", "seconds", "features", "status"}};
  for (const auto& f : check.files)
    rows.push_back({f.id, f.frames > 0 ? std::to_string(f.frames) : "-",
                    f.fps.num > 0 ? hl::frame_rate_string(f.fps) : "-", fixed(f.seconds(), 1), features_text(f),
                    f.problems.empty() ? "ok" : std::to_string(f.problems.size()) + " problem(s)"});
  hl::report::print_table(rows);
  if (check.ok()) {
    std::printf("hl-dataset verify: %zu feature files in %s: ok%s\n", check.files.size(), dir.c_str(),
                labels.empty() ? "" : (", every video of " + labels + " present and long enough").c_str());
    return 0;
  }
  std::printf("hl-dataset verify: %zu problem(s) in %s:\n", check.problems.size(), dir.c_str());
  for (const std::string& p : check.problems) std::printf("  %s\n", p.c_str());
  return hl::cli::kExitFailure;
}

int stats(const std::string& dir) {
  const hl::DatasetCheck check = hl::check_dataset(dir);
  std::vector<std::vector<std::string>> rows = {{"video", "MiB", "frames", "fps", "seconds", "features"}};
  double bytes = 0, seconds = 0;
  int64_t frames = 0;
  std::map<hl::Feature, std::pair<int64_t, int64_t>> files_and_values;  // files, values
  std::map<hl::Feature, double> sums;
  for (const auto& f : check.files) {
    rows.push_back({f.id, fixed(static_cast<double>(f.bytes) / (1 << 20), 2), f.frames > 0 ? std::to_string(f.frames) : "-",
                    f.fps.num > 0 ? hl::frame_rate_string(f.fps) : "-", fixed(f.seconds(), 1), features_text(f)});
    bytes += static_cast<double>(f.bytes);
    seconds += f.seconds();
    frames += f.frames > 0 ? f.frames : 0;
    for (const auto& [feature, count] : f.counts) {
      ++files_and_values[feature].first;
      files_and_values[feature].second += count;
      sums[feature] += f.sums.at(feature);
    }
  }
  rows.push_back({"total", fixed(bytes / (1 << 20), 2), std::to_string(frames), "", fixed(seconds, 1),
                  std::to_string(check.files.size()) + " files"});
  hl::report::print_table(rows);
  std::printf("\n");
  std::vector<std::vector<std::string>> per_feature = {{"feature", "files", "values", "mean"}};
  for (const auto& [feature, fv] : files_and_values)
    per_feature.push_back({hl::feature_spec(feature).name, std::to_string(fv.first), std::to_string(fv.second),
                           fixed(sums[feature] / static_cast<double>(fv.second), 6)});
  hl::report::print_table(per_feature);
  if (!check.ok())
    std::printf("\n%zu problem(s): the sums leave out the unreadable parts; run hl-dataset verify %s\n",
                check.problems.size(), dir.c_str());
  return check.ok() ? 0 : hl::cli::kExitFailure;
}

}  // namespace

int main(int argc, char** argv) {
  hl::cli::Tool tool("dataset", "Check (verify) or sum up (stats) a folder of feature files.");
  CLI::App& app = tool.app();
  app.require_subcommand(1);
  std::string dir, labels, features;
  CLI::App* verify_cmd = app.add_subcommand(
      "verify", "every file complete and readable, one extractor/precision/weights per feature, frame counts that "
                "agree, every labelled video present and long enough; exit 1 on any problem");
  verify_cmd->add_option("DIR", dir, "folder of feature files <video>.safetensors")->required();
  verify_cmd->add_option("--labels", labels, "label CSV (video,segment,score): its videos must be there")
      ->check(CLI::ExistingFile)->option_text("CSV");
  verify_cmd->add_option("--features", features, "features every file must hold, e.g. googlenet,mfcc")
      ->option_text("LIST");
  CLI::App* stats_cmd = app.add_subcommand("stats", "sizes, frame counts, durations and per-feature means");
  stats_cmd->add_option("DIR", dir, "folder of feature files <video>.safetensors")->required();
  app.footer("Exit codes: 0 no problem; 1 a problem found (each is listed); 2 a wrong command line.\n"
             "Example:\n  hl-dataset verify data/features --labels data/labels.csv --features googlenet,mfcc\n");
  return tool.run(argc, argv, [&] {
    if (!features.empty()) {
      try {
        (void)hl::parse_feature_list(features);
      } catch (const hl::Error& e) {
        tool.print_error(std::string("--features: ") + e.what());
        return hl::cli::kExitUsage;
      }
    }
    return verify_cmd->parsed() ? verify(dir, labels, features) : stats(dir);
  });
}
