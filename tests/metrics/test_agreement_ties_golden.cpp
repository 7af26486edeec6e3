// Kendall's tau-b between the mean annotation and the labels, on annotations whose means
// tie only in exact arithmetic (TVSum-like integer scores of 20 annotators in different
// orders, and two-place decimals reaching equal sums by different values), against
// scipy.stats.kendalltau of the exact means (tests/golden/agreement_ties_ref.py).
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "engine/metrics.h"
#include "engine/segment_scores.h"
#include "support/test_support.h"

namespace hl {
namespace {

using nlohmann::json;

TEST(AgreementTiesGolden, TauBOfExactMeansMatchesScipy) {
  test::TempDir dir;
  ASSERT_EQ(test::run_golden_script("agreement_ties_ref.py", {dir.path().string()}), 0)
      << "tests/golden/agreement_ties_ref.py failed (is scipy importable by $HL_PYTHON?)";
  const json manifest = json::parse(test::read_file(dir.file("manifest.json")));
  const SegmentScores labels = read_segment_scores(dir.file("labels.csv"));
  ASSERT_GE(manifest["cases"].size(), 8u);
  int differ_from_float_order = 0;
  for (const json& c : manifest["cases"]) {
    const std::string video = c["video"];
    const Annotations a = read_annotations(dir.file("annotations-" + video + ".csv"));
    const double tau = metrics::kendall_tau_b(a.mean_ranks.at(video), labels.at(video));
    // Both sides count the same integers (pairs); 1e-12 covers the last bits of the sqrt.
    EXPECT_NEAR(tau, c["tau_b"].get<double>(), 1e-12) << video;
    // What a mean summed as a/m in file order gives: these inputs tell the two apart.
    if (std::fabs(c["tau_b"].get<double>() - c["float_order_tau"].get<double>()) > 1e-12) ++differ_from_float_order;
  }
  EXPECT_GE(differ_from_float_order, 2);
}

}  // namespace
}  // namespace hl
