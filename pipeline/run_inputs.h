// What a fold was trained from, beyond its options (whose fingerprint the checkpoint
// already carries): per video, a digest of its labelled segments and one of its feature
// file, and a digest of the fold's own video lists. Every checkpoint stores it (metadata
// "inputs", JSON); --resume compares it with the inputs of the run being resumed and
// refuses, saying what changed, so that a model trained on the old labels or features is
// never continued on new ones (docs/training.md, "Resume").
//
// A feature file is identified by what the run reads of it, not by every byte (hashing
// the whole dataset on every run would read gigabytes): its metadata (for hl-extract the
// source's SHA-256, each extractor and its weights' SHA-256; for hl-synth the seed and
// the planted strengths) but for the keys of features the run does not use, and of each
// used feature its tensor's type, shape and first and last 4 KiB. Adding another
// feature to the files changes nothing; values rewritten in place only between a
// tensor's first and last 4 KiB under the same metadata are not noticed.
// Tests: tests/pipeline/test_run_inputs.cpp, tests/tools/test_hl_train.cpp (ResumeRefusesChangedInputs).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "pipeline/segment_dataset.h"

namespace hl {

struct FoldPlan;

struct InputRecord {
  std::string labels_name = "the labels";       // for messages: the label CSV's path
  std::map<std::string, std::string> labels;    // video -> digest of its (segment, label) list
  std::map<std::string, std::string> features;  // video -> digest of its feature file (empty: not recorded)
  std::string fold;                             // digest of the fold's train / validation / test lists

  // Every field but labels_name, which only names the labels in messages.
  std::string to_json() const;
  // Throws hl::FormatError naming `path` when `text` is not a record.
  static InputRecord from_json(const std::string& text, const std::string& path);
};

// The labels of every video of `data` (named `labels_name` in messages).
InputRecord record_labels(const SegmentDataset& data, const std::string& labels_name);
// record_labels, and the feature file of every video in `features_dir` (for the features
// of `data`): hl::Error naming a file that cannot be read.
InputRecord record_inputs(const SegmentDataset& data, const std::string& features_dir, const std::string& labels_name);
// The digest of a fold's video lists.
std::string fold_digest(const FoldPlan& plan);

// What differs from `then` (the checkpoint's) to `now`, one phrase each ("the labels of
// video 'a' in labels.csv changed", "video 'b' is new in ..."); empty when nothing did.
// Feature files are compared only when both records have them.
std::vector<std::string> input_changes(const InputRecord& then, const InputRecord& now);

}  // namespace hl
