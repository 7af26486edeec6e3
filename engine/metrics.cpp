#include "engine/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "engine/error.h"

namespace hl::metrics {

std::vector<int64_t> rank_descending(std::span<const double> scores) {
  std::vector<int64_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  // stable_sort keeps equal scores in index order: ties go to the lower segment index.
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return scores[a] > scores[b]; });
  return order;
}

bool ranking_scores(std::span<const double> truth, std::span<const double> pred, int k, RankingScores* out) {
  if (truth.empty()) throw Error("ranking metrics need at least one segment");
  if (truth.size() != pred.size())
    throw Error("ranking metrics: " + std::to_string(truth.size()) + " true scores but " +
                std::to_string(pred.size()) + " predictions");
  if (k < 1) throw Error("ranking metrics: k must be at least 1 (got " + std::to_string(k) + ")");
  // NDCG is a ratio of sums of gains: a negative gain can make it any number (below
  // -1e6, above 1), so true scores must be >= 0 (the label readers refuse others).
  for (size_t i = 0; i < truth.size(); ++i)
    if (!(truth[i] >= 0) || !std::isfinite(truth[i]))
      throw Error("ranking metrics: the true score of segment " + std::to_string(i) + " is " +
                  std::to_string(truth[i]) + "; NDCG needs finite gains >= 0");
  const size_t n = truth.size();
  const size_t kk = std::min<size_t>(static_cast<size_t>(k), n);
  const std::vector<int64_t> by_pred = rank_descending(pred);
  const std::vector<int64_t> by_truth = rank_descending(truth);

  double dcg = 0, dcg_paper = 0, idcg = 0, discount_sum = 0;
  for (size_t i = 0; i < kk; ++i) {
    const double discount = 1.0 / std::log2(static_cast<double>(i) + 2.0);  // position i+1
    dcg += truth[by_pred[i]] * discount;
    dcg_paper += pred[by_pred[i]] * discount;
    idcg += truth[by_truth[i]] * discount;
    discount_sum += discount;
  }
  std::vector<char> in_true_top(n, 0);
  for (size_t i = 0; i < kk; ++i) in_true_top[by_truth[i]] = 1;
  size_t hits = 0;
  for (size_t i = 0; i < kk; ++i) hits += in_true_top[by_pred[i]];

  out->precision = static_cast<double>(hits) / static_cast<double>(kk);
  out->chance_precision = static_cast<double>(kk) / static_cast<double>(n);
  if (idcg == 0) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    out->ndcg = out->ndcg_paper = out->chance_ndcg = nan;
    return false;
  }
  const double mean_truth = std::accumulate(truth.begin(), truth.end(), 0.0) / static_cast<double>(n);
  out->ndcg = dcg / idcg;
  out->ndcg_paper = dcg_paper / idcg;
  // A uniformly random order puts each segment at each position with probability 1/n,
  // so the expected gain at every position is mean(r).
  out->chance_ndcg = mean_truth * discount_sum / idcg;
  return true;
}

namespace {
double sample_variance(const std::vector<double>& v) {
  const double mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  return ss / static_cast<double>(v.size() - 1);
}
}  // namespace

double cronbach_alpha(const std::vector<std::vector<double>>& ratings) {
  const size_t m = ratings.size();
  if (m < 2) throw Error("Cronbach's alpha needs at least 2 annotators (got " + std::to_string(m) + ")");
  const size_t n = ratings[0].size();
  if (n < 2) throw Error("Cronbach's alpha needs at least 2 segments (got " + std::to_string(n) + ")");
  std::vector<double> total(n, 0.0);
  double item_variances = 0;
  for (const auto& annotator : ratings) {
    if (annotator.size() != n) throw Error("Cronbach's alpha: annotators rated different numbers of segments");
    item_variances += sample_variance(annotator);
    for (size_t s = 0; s < n; ++s) total[s] += annotator[s];
  }
  const double total_variance = sample_variance(total);
  if (total_variance == 0) return std::numeric_limits<double>::quiet_NaN();
  const double md = static_cast<double>(m);
  return md / (md - 1.0) * (1.0 - item_variances / total_variance);
}

double kendall_tau_b(std::span<const double> x, std::span<const double> y) {
  if (x.size() != y.size()) throw Error("Kendall's tau-b: the two score lists differ in length");
  const size_t n = x.size();
  if (n < 2) throw Error("Kendall's tau-b needs at least 2 values");
  // O(n^2) over pairs: n is a video's segment count (hundreds), and the direct count is
  // the definition itself.
  int64_t concordant = 0, discordant = 0, ties_x = 0, ties_y = 0;
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = i + 1; j < n; ++j) {
      const double dx = x[i] - x[j];
      const double dy = y[i] - y[j];
      if (dx == 0) ++ties_x;
      if (dy == 0) ++ties_y;
      if (dx == 0 || dy == 0) continue;
      ((dx > 0) == (dy > 0) ? concordant : discordant) += 1;
    }
  }
  const double pairs = static_cast<double>(n) * static_cast<double>(n - 1) / 2.0;
  const double denominator = std::sqrt((pairs - static_cast<double>(ties_x)) * (pairs - static_cast<double>(ties_y)));
  if (denominator == 0) return std::numeric_limits<double>::quiet_NaN();
  return static_cast<double>(concordant - discordant) / denominator;
}

double quantile(std::vector<double> values, double q) {
  if (values.empty()) throw Error("quantile of an empty list");
  if (!(q >= 0 && q <= 1)) throw Error("quantile: q must be in [0, 1]");
  std::sort(values.begin(), values.end());
  const double pos = q * static_cast<double>(values.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (pos - static_cast<double>(lo)) * (values[hi] - values[lo]);
}

}  // namespace hl::metrics
