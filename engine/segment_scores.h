// Per-segment score files: labels and predictions (`video,segment,score`) and
// multi-annotator annotations (`video,segment,<one column per annotator>`), as CSV with
// a header. Segments of a video are numbered 0..n-1; every one must appear exactly once.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace hl {

// video id -> scores[segment].
using SegmentScores = std::map<std::string, std::vector<double>>;

// Reads `video,segment,<score>` rows. The score column is `score_column` when given,
// else the column named "score", else the third column. Throws hl::Error naming the file
// and line for malformed rows, a duplicate (video, segment), a non-finite score, and
// naming the video when its segment numbers have a gap.
SegmentScores read_segment_scores(const std::string& path, const std::string& score_column = "");

// video id -> ratings[annotator][segment], with every column after `segment` an annotator.
struct Annotations {
  std::vector<std::string> annotators;                          // column names
  std::map<std::string, std::vector<std::vector<double>>> videos;
};
Annotations read_annotations(const std::string& path);

}  // namespace hl
