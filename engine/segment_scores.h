// Per-segment score files: labels and predictions (`video,segment,score`) and
// multi-annotator annotations (`video,segment,<one column per annotator>`), as CSV with
// a header (engine/csv.h: size limits, a UTF-8 byte-order mark is dropped). Segments of a
// video are numbered 0..n-1; every one must appear exactly once. Every video id is
// checked by validate_video_id (engine/video_id.h) as it is read.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace hl {

// video id -> scores[segment].
using SegmentScores = std::map<std::string, std::vector<double>>;

// What a score file holds. Labels are the gains of NDCG (engine/metrics.h), which is
// only meaningful for gains >= 0, so a negative label is refused with its row (shift the
// labels before use). Predictions may be any finite number: only their order counts
// (and the paper's NDCG variant divides them by the labels' IDCG as they are).
enum class ScoreKind { Labels, Predictions };

// Reads `video,segment,<score>` rows. The score column is `score_column` when given,
// else the column named "score", else the third column. Throws hl::Error naming the file
// and line for malformed rows, an invalid video id, a duplicate (video, segment), a
// non-finite score, a negative label, and naming the video when its segment numbers
// have a gap.
SegmentScores read_segment_scores(const std::string& path, ScoreKind kind = ScoreKind::Labels,
                                  const std::string& score_column = "");
// The same over CSV text in memory; `name` stands in for the path in messages.
SegmentScores parse_segment_scores(const std::string& text, const std::string& name,
                                   ScoreKind kind = ScoreKind::Labels, const std::string& score_column = "");

// video id -> ratings[annotator][segment], with every column after `segment` an annotator.
struct Annotations {
  std::vector<std::string> annotators;                          // column names
  std::map<std::string, std::vector<std::vector<double>>> videos;
  // video id -> the dense rank of each segment's mean annotation (0 = the lowest mean;
  // equal means share a rank). Computed from the decimal text of the ratings exactly
  // (engine/exact_decimal.h), so a tie is a tie whatever the order of the annotators
  // and however the decimals round in binary: these are what Kendall's tau-b compares.
  // Ratings beyond exact reach (more than 36 significant digits, or one video spanning
  // more than ~38 orders of magnitude) fall back to a sum in double of each segment's
  // ratings in ascending order, still independent of the annotators' order.
  std::map<std::string, std::vector<double>> mean_ranks;
};
Annotations read_annotations(const std::string& path);
Annotations parse_annotations(const std::string& text, const std::string& name);

}  // namespace hl
