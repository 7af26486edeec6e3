// Ranking and agreement metrics on small cases worked out by hand (the expected values
// are written as the formulas of specs/paper.md evaluated here, not taken from the code).
#include <gtest/gtest.h>

#include <cmath>

#include "engine/error.h"
#include "engine/metrics.h"

namespace hl::metrics {
namespace {

TEST(Metrics, RankDescendingBreaksTiesByLowerIndex) {
  const std::vector<double> s = {0.5, 0.9, 0.5, 0.1, 0.9};
  EXPECT_EQ(rank_descending(s), (std::vector<int64_t>{1, 4, 0, 2, 3}));
}

TEST(Metrics, PerfectPredictionScoresOne) {
  const std::vector<double> r = {3, 1, 2, 0}, p = {30, 10, 20, 0};
  RankingScores m;
  ASSERT_TRUE(ranking_scores(r, p, 2, &m));
  EXPECT_DOUBLE_EQ(m.ndcg, 1.0);
  EXPECT_DOUBLE_EQ(m.precision, 1.0);
  // Paper NDCG: predicted gains (30, 20) over true ideal gains (3, 2).
  EXPECT_DOUBLE_EQ(m.ndcg_paper, (30 + 20 / std::log2(3.0)) / (3 + 2 / std::log2(3.0)));
}

TEST(Metrics, TiesInPredictionsGoToTheLowerSegment) {
  // r = [1, 1, 0], p = [0.5, 0.5, 0.9]: pi = [2, 0, 1], sigma = [0, 1, 2].
  const std::vector<double> r = {1, 1, 0}, p = {0.5, 0.5, 0.9};
  RankingScores m;
  ASSERT_TRUE(ranking_scores(r, p, 1, &m));
  EXPECT_DOUBLE_EQ(m.ndcg, 0.0);
  EXPECT_DOUBLE_EQ(m.precision, 0.0);
  ASSERT_TRUE(ranking_scores(r, p, 2, &m));
  const double d2 = 1 / std::log2(3.0);
  EXPECT_DOUBLE_EQ(m.ndcg, (0 + 1 * d2) / (1 + 1 * d2));
  EXPECT_DOUBLE_EQ(m.precision, 0.5);  // {2, 0} vs {0, 1}
  EXPECT_DOUBLE_EQ(m.chance_precision, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.chance_ndcg, (2.0 / 3.0) * (1 + d2) / (1 + d2));
}

TEST(Metrics, KLargerThanNUsesN) {
  const std::vector<double> r = {2, 1}, p = {1, 2};
  RankingScores m;
  ASSERT_TRUE(ranking_scores(r, p, 10, &m));
  const double d2 = 1 / std::log2(3.0);
  EXPECT_DOUBLE_EQ(m.ndcg, (1 + 2 * d2) / (2 + 1 * d2));
  EXPECT_DOUBLE_EQ(m.precision, 1.0);
  EXPECT_DOUBLE_EQ(m.chance_precision, 1.0);
}

TEST(Metrics, ZeroIdealGainIsUndefined) {
  const std::vector<double> r = {0, 0, 0}, p = {1, 2, 3};
  RankingScores m;
  EXPECT_FALSE(ranking_scores(r, p, 2, &m));
  EXPECT_TRUE(std::isnan(m.ndcg));
}

TEST(Metrics, BadInputThrows) {
  const std::vector<double> a = {1, 2}, b = {1};
  RankingScores m;
  EXPECT_THROW(ranking_scores(a, b, 1, &m), Error);
  EXPECT_THROW(ranking_scores(a, a, 0, &m), Error);
  EXPECT_THROW(ranking_scores(std::vector<double>{}, std::vector<double>{}, 1, &m), Error);
}

TEST(Metrics, KendallTauB) {
  // x = [1, 2, 3], y = [1, 3, 2]: pairs (0,1) C, (0,2) C, (1,2) D -> (2 - 1) / 3.
  EXPECT_DOUBLE_EQ(kendall_tau_b(std::vector<double>{1, 2, 3}, std::vector<double>{1, 3, 2}), 1.0 / 3.0);
  // With a tie in x: x = [1, 1, 2], y = [1, 2, 3]: (0,1) tied in x; (0,2) C; (1,2) C.
  // tau_b = 2 / sqrt((3 - 1) * (3 - 0)).
  EXPECT_DOUBLE_EQ(kendall_tau_b(std::vector<double>{1, 1, 2}, std::vector<double>{1, 2, 3}), 2 / std::sqrt(6.0));
  EXPECT_TRUE(std::isnan(kendall_tau_b(std::vector<double>{1, 1}, std::vector<double>{1, 2})));
}

TEST(Metrics, NegativeTrueScoresAreRefused) {
  // With gains {1, -1} and k = 1 the ideal DCG is 1, the DCG of a prediction that puts
  // segment 1 first is -1: NDCG -1, no longer in [0, 1]. So the metric refuses them.
  RankingScores m;
  const std::vector<double> r = {1, -1}, p = {0, 1};
  try {
    ranking_scores(r, p, 1, &m);
    ADD_FAILURE() << "a negative true score was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the true score of segment 1 is -1"), std::string::npos) << e.what();
  }
  const std::vector<double> nan_truth = {1, NAN};
  EXPECT_THROW(ranking_scores(nan_truth, p, 1, &m), Error);
}

TEST(Metrics, CronbachAlpha) {
  // Two annotators agreeing exactly: item variances v, v; total variance 4v -> alpha 1.
  EXPECT_DOUBLE_EQ(cronbach_alpha({{1, 2, 3}, {1, 2, 3}}), 1.0);
  // {1,2,3} and {3,2,1}: total is constant -> undefined.
  EXPECT_TRUE(std::isnan(cronbach_alpha({{1, 2, 3}, {3, 2, 1}})));
  // {1,2,3} and {1,3,2}: item vars 1 and 1; totals {2,5,5}: mean 4, ss 4+1+1=6, var 3.
  // alpha = 2 * (1 - 2/3) = 2/3.
  EXPECT_DOUBLE_EQ(cronbach_alpha({{1, 2, 3}, {1, 3, 2}}), 2.0 / 3.0);
  EXPECT_THROW(cronbach_alpha({{1, 2, 3}}), Error);
}

}  // namespace
}  // namespace hl::metrics
