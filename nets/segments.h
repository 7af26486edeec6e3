// Time bookkeeping of the highlight pipeline (DESIGN section 4): features at their
// native frame rate are upsampled to 30 fps by holding the latest frame at or before
// each 1/30-s tick, and cut into 5-s segments of 150 ticks; a trailing partial segment
// is dropped.
#pragma once
#include <cstdint>

namespace hl {

constexpr int kTicksPerSecond = 30;
constexpr int kSegmentSeconds = 5;
constexpr int kTicksPerSegment = kTicksPerSecond * kSegmentSeconds;  // 150

// Frame rates are rationals (29.97 fps is 30000/1001) so that tick -> frame mapping is
// exact over hours of video instead of drifting with floating-point error.
struct FrameRate {
  int64_t num = 30000;
  int64_t den = 1001;
};

// The native frame shown at 30-fps tick `tick`: the largest j with j/fps <= tick/30,
// clamped to [0, frame_count - 1]. frame_count must be >= 1.
int64_t held_frame_at_tick(int64_t tick, FrameRate fps, int64_t frame_count);

// Number of complete 5-s segments covered by `frame_count` native frames at `fps`
// (the features' duration is frame_count / fps).
int64_t complete_segments(int64_t frame_count, FrameRate fps);

}  // namespace hl
