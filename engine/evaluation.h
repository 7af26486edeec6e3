// Evaluation of predicted segment scores against labels over many videos: the
// per-video ranking metrics of engine/metrics.h at each cut-off k and their mean over
// the videos that can be evaluated (specs/paper.md, "Metrics"). Used by hl-eval and by
// hl-train for model selection and the held-out folds.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/segment_scores.h"

namespace hl {

struct VideoEvaluation {
  std::string video;
  int64_t segments = 0;
  std::vector<double> values;  // one per Evaluation::keys
};

struct SkippedVideo {
  std::string video;
  std::string reason;
};

struct Evaluation {
  // For each k: "ndcg@k", "ndcg_paper@k", "p@k", "chance_ndcg@k", "chance_p@k".
  std::vector<std::string> keys;
  std::vector<VideoEvaluation> videos;  // the evaluated ones, by id
  std::vector<double> mean;             // per key, over `videos` (NaN when there are none)
  std::vector<SkippedVideo> skipped;
  // The mean of `key`; throws hl::Error for a key not computed.
  double mean_of(const std::string& key) const;
};

// Evaluates every video of `labels`. Skipped (with the reason): videos without
// predictions, with a different number of segments, or with IDCG = 0 at some k (the
// paper leaves those out of the mean), and predicted videos without labels.
// `labels_name` and `preds_name` name the sources in the reasons. Labels must be >= 0
// (read with ScoreKind::Labels); a negative one throws hl::Error (engine/metrics.h).
Evaluation evaluate_rankings(const SegmentScores& labels, const SegmentScores& preds, const std::vector<int>& ks,
                             const std::string& labels_name = "the labels",
                             const std::string& preds_name = "the predictions");

}  // namespace hl
