// Tick-to-frame mapping and segment counts against the definition evaluated in long
// double (exact enough away from frame boundaries) and hand-worked cases.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/error.h"
#include "nets/segments.h"
#include "support/test_support.h"

namespace hl {
namespace {

TEST(Segments, HandWorkedNtscCases) {
  const FrameRate ntsc{30000, 1001};
  EXPECT_EQ(held_frame_at_tick(0, ntsc, 100000), 0);
  // Tick 30 is t = 1 s; frame 29 starts at 29*1001/30000 = 0.9677 s, frame 30 at 1.001 s.
  EXPECT_EQ(held_frame_at_tick(30, ntsc, 100000), 29);
  // Tick 1001 is t = 33.3667 s, exactly the start of frame 1000.
  EXPECT_EQ(held_frame_at_tick(1001, ntsc, 100000), 1000);
  EXPECT_EQ(held_frame_at_tick(1000, ntsc, 100000), 999);
  EXPECT_EQ(held_frame_at_tick(1000000, ntsc, 10), 9) << "clamped to the last frame";
}

TEST(Segments, MatchesDefinitionOverTwoHours) {
  for (FrameRate fps : {FrameRate{30000, 1001}, FrameRate{25, 1}, FrameRate{60, 1}, FrameRate{24000, 1001}}) {
    const long double rate = static_cast<long double>(fps.num) / fps.den;
    for (int64_t tick = 0; tick < 2 * 3600 * 30; tick += 7) {
      const long double frames = tick / 30.0L * rate;
      if (std::fabs(frames - std::round(frames)) < 1e-9L) continue;  // exact boundaries tested above
      ASSERT_EQ(held_frame_at_tick(tick, fps, 1LL << 40), static_cast<int64_t>(std::floor(frames)))
          << "tick " << tick << " fps " << fps.num << "/" << fps.den;
    }
  }
}

TEST(Segments, CompleteSegmentsDropTheTail) {
  const FrameRate ntsc{30000, 1001};
  EXPECT_EQ(complete_segments(0, ntsc), 0);
  EXPECT_EQ(complete_segments(149, ntsc), 0);   // 4.97 s
  EXPECT_EQ(complete_segments(150, ntsc), 1);   // 5.005 s
  EXPECT_EQ(complete_segments(17982, ntsc), 119);  // 599.9994 s: 119 whole segments
  EXPECT_EQ(complete_segments(17983, ntsc), 120);  // 600.03 s
  EXPECT_EQ(complete_segments(250, FrameRate{25, 1}), 2);
  EXPECT_THROW(complete_segments(10, FrameRate{0, 1}), Error);
}

}  // namespace
}  // namespace hl
