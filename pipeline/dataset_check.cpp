#include "pipeline/dataset_check.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "engine/error.h"
#include "engine/safetensors.h"
#include "engine/segment_scores.h"
#include "pipeline/feature_file.h"
#include "pipeline/feature_rows.h"

namespace hl {

namespace {

namespace fs = std::filesystem;

std::string shape_text(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

// Opens one file and checks it on its own; fills `file`.
void check_file(FeatureFileSummary& file, const std::vector<Feature>& required,
                std::map<std::string, std::string>& identity) {
  auto problem = [&](const std::string& what) { file.problems.push_back(file.path + ": " + what); };
  std::error_code ec;
  file.bytes = fs::file_size(file.path, ec);
  try {
    const SafetensorsFile sf = SafetensorsFile::open(file.path);
    file.fps = feature_file_fps(sf, file.path);
    file.frames = feature_file_frames(sf);
    if (file.frames < 1) return problem("no valid 'frames' (T) in the metadata");
    const auto listed = sf.metadata().find(feature_meta::kFeatures);
    if (listed == sf.metadata().end()) return problem("no 'features' in the metadata");
    file.features = parse_feature_list(listed->second);
    for (Feature f : file.features) {
      const FeatureSpec& spec = feature_spec(f);
      if (!sf.contains(spec.name)) {
        problem(std::string("the metadata lists '") + spec.name + "' but the file has no such tensor");
        continue;
      }
      const std::vector<int64_t> want = feature_tensor_shape(f, file.frames);
      const SafetensorsTensorInfo& info = sf.info(spec.name);
      if (info.shape != want) {
        problem(std::string("tensor '") + spec.name + "' has shape " + shape_text(info.shape) + ", expected " +
                shape_text(want) + " for T = " + std::to_string(file.frames) +
                " frames (its frame count disagrees with the file's)");
        continue;
      }
      for (const std::string& key : {feature_meta::extractor_key(f), feature_meta::weights_key(f)}) {
        const auto it = sf.metadata().find(key);
        identity[key] = it == sf.metadata().end() ? "(not recorded)" : it->second;
      }
      // Every value read once (the whole file is paged in): complete and finite.
      const Tensor t = sf.get(spec.name);
      std::vector<float> row(static_cast<size_t>(row_elements(t)));
      double sum = 0;
      int64_t bad_row = -1;
      for (int64_t r = 0; r < t.size(0); ++r) {
        if (row_to_f32(t, r, row.data()) >= 0 && bad_row < 0) bad_row = r;
        for (float v : row) sum += v;
      }
      if (bad_row >= 0) {
        problem(std::string("feature '") + spec.name + "' holds a non-finite value (NaN or inf) in row " +
                std::to_string(bad_row));
        continue;
      }
      file.sums[f] = sum;
      file.counts[f] = t.numel();
    }
    for (Feature f : required)
      if (std::find(file.features.begin(), file.features.end(), f) == file.features.end())
        problem(std::string("no '") + feature_spec(f).name + "' feature (--features asks for it); run hl-extract "
                "--features " + feature_spec(f).name);
  } catch (const std::exception& e) {  // FormatError names the file already
    const std::string what = e.what();
    file.problems.push_back(what.find(file.path) == std::string::npos ? file.path + ": " + what : what);
  }
}

}  // namespace

DatasetCheck check_dataset(const std::string& dir, const DatasetCheckOptions& options) {
  if (!fs::is_directory(dir)) throw Error(dir + ": not a folder of feature files");
  DatasetCheck out;
  std::vector<fs::path> paths;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".safetensors") paths.push_back(e.path());
  std::sort(paths.begin(), paths.end());
  if (paths.empty()) out.problems.push_back(dir + ": no feature files (*.safetensors)");

  // Per metadata key ("mfcc.extractor"): value -> files with it.
  std::map<std::string, std::map<std::string, std::vector<std::string>>> identities;
  for (const fs::path& p : paths) {
    FeatureFileSummary file;
    file.id = p.stem().string();
    file.path = p.string();
    std::map<std::string, std::string> identity;
    check_file(file, options.features, identity);
    for (const auto& [key, value] : identity) identities[key][value].push_back(file.path);
    out.problems.insert(out.problems.end(), file.problems.begin(), file.problems.end());
    out.files.push_back(std::move(file));
  }
  for (const auto& [key, values] : identities) {
    if (values.size() < 2) continue;
    // The most common value is the dataset's (ties: the first in text order); the
    // others are named file by file.
    auto common = values.begin();
    for (auto it = values.begin(); it != values.end(); ++it)
      if (it->second.size() > common->second.size()) common = it;
    for (const auto& [value, files] : values) {
      if (value == common->first) continue;
      for (const std::string& f : files)
        out.problems.push_back(f + ": " + key + " is '" + value + "' but " + std::to_string(common->second.size()) +
                               " other file(s) have '" + common->first +
                               "' (made by another extractor version, precision or weights); extract it again with "
                               "the dataset's settings (hl-extract --force)");
    }
  }

  if (!options.labels.empty()) {
    try {
      const SegmentScores labels = read_segment_scores(options.labels);
      std::map<std::string, const FeatureFileSummary*> by_id;
      for (const auto& f : out.files) by_id[f.id] = &f;
      for (const auto& [video, scores] : labels) {
        const auto it = by_id.find(video);
        if (it == by_id.end()) {
          out.problems.push_back(options.labels + ": video '" + video + "' has labels but no feature file " +
                                 feature_file_path(dir, video) + " (run hl-extract on it, or remove its labels)");
          continue;
        }
        const FeatureFileSummary& f = *it->second;
        if (f.frames < 1 || f.fps.num <= 0) continue;  // its own problem is reported already
        const int64_t complete = complete_segments(f.frames, f.fps);
        if (static_cast<int64_t>(scores.size()) > complete)
          out.problems.push_back(options.labels + ": video '" + video + "' has labels for " +
                                 std::to_string(scores.size()) + " segments but " + f.path + " covers " +
                                 std::to_string(complete) + " complete 5-s segments (" + std::to_string(f.frames) +
                                 " frames at " + frame_rate_string(f.fps) + " fps)");
      }
    } catch (const std::exception& e) {
      out.problems.push_back(e.what());
    }
  }
  return out;
}

}  // namespace hl
