// hl-dataset (tools/hl_dataset.cpp): a folder of feature files checked before a long job
// reads it (verify) and summed up (stats); docs/scale-out.md. After N array elements
// wrote one folder, verify says whether it is one consistent dataset:
//   per file   it opens (a truncated or damaged file does not), its metadata has a frame
//              rate and T, every tensor of its "features" list is there with the shape
//              for T ([T, ...], mfcc [4T, 13]: frame counts agree between features), its
//              values are finite, and it holds every feature of --features;
//   across     each feature's extractor (name, parameters, precision) and weights hash
//              ("<f>.extractor", "<f>.weights") are the same in every file that has the
//              feature: a file that disagrees with the most common value is named (made by
//              another hl version, on another device, with other weights);
//   labels     every video of the label CSV has a feature file, whose T covers its
//              labelled 5-s segments (the rule SegmentDataset::open applies).
// Each problem names its file (or the labels) and what is wrong. Files are read once,
// through the memory map; nothing is written.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "nets/features.h"
#include "nets/segments.h"

namespace hl {

struct FeatureFileSummary {
  std::string id;    // the video id (file name without ".safetensors")
  std::string path;
  uint64_t bytes = 0;
  FrameRate fps{0, 1};  // {0, 1} when unreadable
  int64_t frames = -1;  // T; -1 when unknown
  std::vector<Feature> features;
  std::map<Feature, double> sums;     // of every value of the feature's tensor (f32 rows)
  std::map<Feature, int64_t> counts;  // values summed
  std::vector<std::string> problems;
  double seconds() const { return fps.num > 0 && frames > 0 ? static_cast<double>(frames) * fps.den / fps.num : 0; }
};

struct DatasetCheck {
  std::vector<FeatureFileSummary> files;  // by id
  std::vector<std::string> problems;      // every problem, each naming its file or the labels
  bool ok() const { return problems.empty(); }
};

struct DatasetCheckOptions {
  std::string labels;              // a label CSV ("" none)
  std::vector<Feature> features;   // each file must hold these (empty: no requirement)
};

// Every *.safetensors in `dir` (not recursive). Throws hl::Error when `dir` is not a
// folder; every problem with what is inside is reported, never thrown.
DatasetCheck check_dataset(const std::string& dir, const DatasetCheckOptions& options = {});

}  // namespace hl
