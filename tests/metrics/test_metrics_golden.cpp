// Metrics against references nobody here wrote (tests/golden/metrics_ref.py):
// scikit-learn's ndcg_score, scipy's kendalltau, numpy formulas, and a Monte-Carlo over
// random permutations for the chance values.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine/metrics.h"
#include "support/test_support.h"

namespace hl::metrics {
namespace {

using nlohmann::json;

class MetricsGolden : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    ASSERT_EQ(test::run_golden_script("metrics_ref.py", {dir_->path().string()}), 0)
        << "tests/golden/metrics_ref.py failed (are scikit-learn and scipy importable by $HL_PYTHON?)";
    manifest_ = json::parse(test::read_file(dir_->file("manifest.json")));
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static inline test::TempDir* dir_ = nullptr;
  static inline json manifest_;
};

TEST_F(MetricsGolden, RankingMatchesSklearnAndNumpy) {
  ASSERT_GE(manifest_["ranking"].size(), 8u);
  for (const json& c : manifest_["ranking"]) {
    const auto r = c["truth"].get<std::vector<double>>();
    const auto p = c["pred"].get<std::vector<double>>();
    const int k = c["k"];
    RankingScores m;
    ASSERT_TRUE(ranking_scores(r, p, k, &m));
    const std::string where = "n=" + std::to_string(r.size()) + " k=" + std::to_string(k);
    EXPECT_NEAR(m.ndcg, c["ndcg"].get<double>(), 1e-12) << where;
    EXPECT_NEAR(m.ndcg_paper, c["ndcg_paper"].get<double>(), 1e-12) << where;
    EXPECT_NEAR(m.precision, c["precision"].get<double>(), 1e-12) << where;
    // Monte-Carlo estimates: within 5 standard errors (a false alarm has probability
    // below 1e-6 per value), plus a little for the zero-variance cases.
    EXPECT_NEAR(m.chance_ndcg, c["chance_ndcg_mc"].get<double>(), 5 * c["chance_ndcg_se"].get<double>() + 1e-9)
        << where;
    EXPECT_NEAR(m.chance_precision, c["chance_p_mc"].get<double>(), 5 * c["chance_p_se"].get<double>() + 1e-9)
        << where;
  }
}

TEST_F(MetricsGolden, KendallTauBMatchesScipy) {
  for (const json& c : manifest_["kendall"]) {
    const auto x = c["x"].get<std::vector<double>>();
    const auto y = c["y"].get<std::vector<double>>();
    EXPECT_NEAR(kendall_tau_b(x, y), c["tau_b"].get<double>(), 1e-12) << "n=" << x.size();
  }
}

TEST_F(MetricsGolden, CronbachAlphaMatchesNumpy) {
  for (const json& c : manifest_["alpha"]) {
    const auto ratings = c["ratings"].get<std::vector<std::vector<double>>>();
    EXPECT_NEAR(cronbach_alpha(ratings), c["alpha"].get<double>(), 1e-12) << "m=" << ratings.size();
  }
}

TEST_F(MetricsGolden, QuantileMatchesNumpy) {
  ASSERT_GE(manifest_["quantiles"].size(), 20u);
  for (const json& c : manifest_["quantiles"]) {
    const auto values = c["values"].get<std::vector<double>>();
    EXPECT_NEAR(quantile(values, c["q"]), c["expected"].get<double>(), 1e-12) << "n=" << values.size() << " q=" << c["q"];
  }
}

}  // namespace
}  // namespace hl::metrics
