// MFCC timing: where rows start, how many rows a signal gets, and that the exact
// fractional step keeps row 4f on video frame f over a 10-minute file while the
// library's rounded step drifts. Expected values are computed here from the definitions.
#include <gtest/gtest.h>

#include <cmath>

#include "nets/mfcc.h"

namespace hl {
namespace {

TEST(MfccTiming, RowStartsRoundHalfUp) {
  const MfccParams p = MfccParams::paper();
  // i · 2002/15: 0, 133.47, 266.93, 400.4, 533.87, 667.33, 800.8, 934.27 ...
  const int64_t want[] = {0, 133, 267, 400, 534, 667, 801, 934};
  for (int64_t i = 0; i < 8; ++i) EXPECT_EQ(mfcc_row_start(i, p.step_num, p.step_den), want[i]) << i;
  // A tie rounds up: 1/2 -> 1 (step 1/2: row 1 starts at 0.5 -> 1).
  EXPECT_EQ(mfcc_row_start(1, 1, 2), 1);
  EXPECT_EQ(mfcc_row_start(7, 133, 1), 931);
}

TEST(MfccTiming, RowCountMatchesTheLibraryFormula) {
  const MfccParams lib = MfccParams::python_speech_features();
  for (int64_t n : {1, 399, 400, 401, 533, 534, 5000, 16000, 160001}) {
    // python_speech_features.sigproc.framesig: 1 if n <= 400 else 1 + ceil((n - 400) / 133).
    const int64_t want = n <= 400 ? 1 : 1 + static_cast<int64_t>(std::ceil((n - 400) / 133.0));
    EXPECT_EQ(mfcc_rows_for_samples(n, lib), want) << n;
  }
  const MfccParams exact = MfccParams::paper();
  for (int64_t n : {401, 534, 535, 16000, 9'600'000}) {
    const int64_t m = mfcc_rows_for_samples(n, exact);
    EXPECT_GE(mfcc_row_start(m - 1, exact.step_num, exact.step_den) + exact.window, n) << n;  // reaches the end
    EXPECT_LT(mfcc_row_start(m - 2, exact.step_num, exact.step_den) + exact.window, n) << n;  // and no more
  }
}

TEST(MfccTiming, ExactStepStaysOnTheVideoForTenMinutes) {
  const MfccParams exact = MfccParams::paper();
  const MfccParams lib = MfccParams::python_speech_features();
  const int64_t frames = 10 * 60 * 30000 / 1001;  // 10 minutes at 29.97 fps
  double worst_exact = 0, worst_lib = 0;
  for (int64_t f = 0; f <= frames; ++f) {
    const double video_sample = static_cast<double>(f) * 1001.0 / 30000.0 * 16000.0;  // frame f's time in samples
    worst_exact = std::max(worst_exact, std::fabs(mfcc_row_start(4 * f, exact.step_num, exact.step_den) - video_sample));
    worst_lib = std::max(worst_lib, std::fabs(mfcc_row_start(4 * f, lib.step_num, lib.step_den) - video_sample));
  }
  EXPECT_LE(worst_exact, 0.5);  // within half a sample everywhere
  // The rounded step falls behind 0.47 samples per row: about 2 s after 10 minutes.
  EXPECT_GT(worst_lib / 16000.0, 2.0);
}

TEST(Mfcc, RejectsWrongInput) {
  const Tensor two_d = Tensor::zeros(Shape({2, 3}), DType::F32);
  EXPECT_THROW(mfcc(two_d, 1), Error);
}

}  // namespace
}  // namespace hl
