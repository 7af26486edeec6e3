// Progress-line formatting (rate, ETA, bar) and log filtering.
#include <gtest/gtest.h>
#include <unistd.h>

#include "engine/error.h"
#include "engine/log.h"
#include "engine/progress.h"

namespace hl {
namespace {

TEST(Progress, LineShowsBarCountRateAndEta) {
  // 450 of 1000 in 10 s: 45 it/s, 550 left -> 12.2 s -> "0:12".
  const std::string line = format_progress_line("extract", 450, 1000, 10.0, "frames", "clip.mp4", 20);
  EXPECT_EQ(line, "extract [=========>          ]  45% 450/1000 45.0 frames/s ETA 0:12 clip.mp4");
}

TEST(Progress, UnknownTotalHasNoBarOrEta) {
  const std::string line = format_progress_line("scan", 7, 0, 2.0, "files", "");
  EXPECT_EQ(line, "scan 7 3.50 files/s");
}

TEST(Progress, FinishedShowsFullBarAndZeroEta) {
  const std::string line = format_progress_line("x", 10, 10, 5.0, "it", "", 4);
  EXPECT_EQ(line, "x [====] 100% 10/10 2.00 it/s ETA 0:00");
}

TEST(Progress, Durations) {
  EXPECT_EQ(format_duration(0), "0:00");
  EXPECT_EQ(format_duration(59.6), "1:00");
  EXPECT_EQ(format_duration(3725), "1:02:05");
  EXPECT_EQ(format_duration(-1), "?");
}

TEST(Progress, InvisibleWhenStderrIsNotATerminal) {
  // ctest runs tests with stderr redirected, which is exactly the case to test.
  if (isatty(2)) GTEST_SKIP() << "stderr is a terminal here";
  testing::internal::CaptureStderr();
  {
    ProgressBar bar("work", 3);
    bar.advance(3);
    EXPECT_FALSE(bar.visible());
  }
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

TEST(Log, FiltersByLevel) {
  const LogLevel saved = log_level();
  set_log_level(LogLevel::Warn);
  testing::internal::CaptureStderr();
  HL_LOG(Info) << "hidden " << 1;
  HL_LOG(Warn) << "shown " << 2;
  const std::string out = testing::internal::GetCapturedStderr();
  set_log_level(saved);
  EXPECT_EQ(out, "hl [warn] shown 2\n");
}

TEST(Log, ParsesLevels) {
  EXPECT_EQ(parse_log_level("debug"), LogLevel::Debug);
  EXPECT_EQ(parse_log_level("off"), LogLevel::Off);
  EXPECT_THROW(parse_log_level("verbose"), Error);
}

}  // namespace
}  // namespace hl
