// libFuzzer target for the readers of label, prediction and annotation files
// (engine/segment_scores.h over engine/csv.h). The first byte picks the reader (its
// value mod 3: 0 labels, 1 predictions, 2 annotations; '0', '1', '2' in the corpus), the
// rest is the file. hl::Error is the only outcome allowed besides success; an accepted
// file must also keep the readers' promises, checked here (a broken one traps):
//   - every video id passes video_id_problem (so no path built from it leaves its folder);
//   - every video has at least one segment, every score is finite, labels are >= 0;
//   - annotations: one rating per annotator and segment, and the mean ranks are dense
//     (0..r with no gap) with one per segment.
// Accepted files also go through the metrics (NDCG against themselves, alpha, tau-b).
//
// Built as a fuzzer by tests/fuzz/CMakeLists.txt (HL_FUZZ=ON, clang) and, without
// libFuzzer, into test_csv_fuzz_corpus_replay, which runs the seed corpus in every test run.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/error.h"
#include "engine/metrics.h"
#include "engine/segment_scores.h"
#include "engine/video_id.h"

namespace {

void require(bool promise_kept) {
  if (!promise_kept) __builtin_trap();
}

void check_scores(const hl::SegmentScores& scores, bool labels) {
  for (const auto& [video, values] : scores) {
    require(hl::video_id_problem(video).empty());
    require(!values.empty());
    for (double v : values) require(std::isfinite(v) && (!labels || v >= 0));
    if (labels) {
      hl::metrics::RankingScores m;
      if (hl::metrics::ranking_scores(values, values, 3, &m)) require(m.ndcg >= 0 && m.ndcg <= 1 + 1e-12);
    }
  }
}

void check_annotations(const hl::Annotations& a) {
  require(a.annotators.size() >= 2);
  require(a.mean_ranks.size() == a.videos.size());
  for (const auto& [video, ratings] : a.videos) {
    require(hl::video_id_problem(video).empty());
    require(ratings.size() == a.annotators.size());
    const size_t n = ratings[0].size();
    require(n >= 1);
    for (const auto& r : ratings) require(r.size() == n);
    const std::vector<double>& ranks = a.mean_ranks.at(video);
    require(ranks.size() == n);
    std::vector<double> sorted = ranks;
    std::sort(sorted.begin(), sorted.end());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    for (size_t i = 0; i < sorted.size(); ++i) require(sorted[i] == static_cast<double>(i));
    if (n >= 2) {
      (void)hl::metrics::cronbach_alpha(ratings);
      const double tau = hl::metrics::kendall_tau_b(ranks, ratings[0]);
      require(std::isnan(tau) || (tau >= -1 - 1e-12 && tau <= 1 + 1e-12));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int reader = data[0] % 3;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    if (reader == 2) {
      check_annotations(hl::parse_annotations(text, "fuzz.csv"));
    } else {
      const auto kind = reader == 0 ? hl::ScoreKind::Labels : hl::ScoreKind::Predictions;
      check_scores(hl::parse_segment_scores(text, "fuzz.csv", kind), reader == 0);
    }
  } catch (const hl::Error&) {
    // A refused file: the expected outcome for most inputs.
  }
  return 0;
}
