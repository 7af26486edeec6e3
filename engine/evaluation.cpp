#include "engine/evaluation.h"

#include <cmath>

#include "engine/error.h"
#include "engine/metrics.h"

namespace hl {

double Evaluation::mean_of(const std::string& key) const {
  for (size_t i = 0; i < keys.size(); ++i)
    if (keys[i] == key) return mean[i];
  throw Error("evaluation has no metric '" + key + "'");
}

Evaluation evaluate_rankings(const SegmentScores& labels, const SegmentScores& preds, const std::vector<int>& ks,
                             const std::string& labels_name, const std::string& preds_name) {
  Evaluation ev;
  for (int k : ks) {
    const std::string s = std::to_string(k);
    ev.keys.insert(ev.keys.end(), {"ndcg@" + s, "ndcg_paper@" + s, "p@" + s, "chance_ndcg@" + s, "chance_p@" + s});
  }
  std::vector<double> sums(ev.keys.size(), 0.0);
  for (const auto& [video, truth] : labels) {
    const auto it = preds.find(video);
    if (it == preds.end()) {
      ev.skipped.push_back({video, "no predictions in " + preds_name});
      continue;
    }
    if (it->second.size() != truth.size()) {
      ev.skipped.push_back({video, std::to_string(truth.size()) + " labelled segments but " +
                                       std::to_string(it->second.size()) + " predicted"});
      continue;
    }
    VideoEvaluation v{video, static_cast<int64_t>(truth.size()), {}};
    bool defined = true;
    for (int k : ks) {
      metrics::RankingScores m;
      if (!metrics::ranking_scores(truth, it->second, k, &m)) {
        ev.skipped.push_back({video, "every true score in the top " + std::to_string(k) + " is 0 (IDCG = 0)"});
        defined = false;
        break;
      }
      v.values.insert(v.values.end(), {m.ndcg, m.ndcg_paper, m.precision, m.chance_ndcg, m.chance_precision});
    }
    if (!defined) continue;
    for (size_t i = 0; i < sums.size(); ++i) sums[i] += v.values[i];
    ev.videos.push_back(std::move(v));
  }
  for (const auto& [video, scores] : preds)
    if (!labels.count(video)) ev.skipped.push_back({video, "predicted but not in " + labels_name});
  const double n = static_cast<double>(ev.videos.size());
  for (double s : sums) ev.mean.push_back(ev.videos.empty() ? NAN : s / n);
  return ev;
}

}  // namespace hl
