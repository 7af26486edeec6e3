// Ranking metrics of the paper (specs/paper.md, "Metrics") for one video, and the
// annotator-agreement statistics. Plain functions over score vectors in double; the
// per-video averaging and the file handling live in the tools.
//
// Orders: π sorts the segments by predicted score, σ by true score, both descending,
// ties broken by the lower segment index; k' = min(k, n).
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace hl::metrics {

// Segment indices sorted by score descending, ties by the lower index (a stable sort).
std::vector<int64_t> rank_descending(std::span<const double> scores);

struct RankingScores {
  double ndcg = 0;              // standard NDCG@k, linear gain: Σ r[π_i]/log2(i+1) / IDCG
  double ndcg_paper = 0;        // the paper's eq. 3-4 literally: Σ p[π_i]/log2(i+1) / IDCG
  double precision = 0;         // P@k: |top-k' by p ∩ top-k' by r| / k'
  double chance_ndcg = 0;       // E[NDCG@k] under a uniformly random order: mean(r)·Σ1/log2(i+1) / IDCG
  double chance_precision = 0;  // E[P@k] under a random order: k'/n
};

// Metrics at cut-off k for one video with true scores `truth` and predictions `pred`
// (same length n >= 1, k >= 1, every true score finite and >= 0: the gains). IDCG = 0
// (every true score in the top k' is 0) leaves the NDCG values undefined: the paper
// leaves such a video out of the mean, so this returns false and the caller skips it.
// Throws hl::Error for empty or mismatched input and for a negative or non-finite true
// score.
bool ranking_scores(std::span<const double> truth, std::span<const double> pred, int k, RankingScores* out);

// Cronbach's α with annotators as items and segments as cases (sample variances,
// ddof = 1): α = m/(m−1) · (1 − Σ_j var(a_j) / var(Σ_j a_j)).
// ratings[j][s] = annotator j's score of segment s; m >= 2 annotators, n >= 2 segments.
// NaN when the total score does not vary.
double cronbach_alpha(const std::vector<std::vector<double>>& ratings);

// Kendall's τ-b between x and y (same length n >= 2):
// (concordant − discordant) / sqrt((n0 − ties_x)(n0 − ties_y)), n0 = n(n−1)/2, where
// ties_x counts pairs tied in x (including those tied in both). NaN when x or y is
// constant (the denominator is 0), as scipy.stats.kendalltau returns.
double kendall_tau_b(std::span<const double> x, std::span<const double> y);

// The q-quantile (q in [0, 1]) of `values`, interpolating linearly between order
// statistics as numpy.quantile does by default. Throws hl::Error for an empty list.
double quantile(std::vector<double> values, double q);

}  // namespace hl::metrics
