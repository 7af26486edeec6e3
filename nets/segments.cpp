#include "nets/segments.h"

#include <algorithm>

#include "engine/error.h"

namespace hl {

int64_t held_frame_at_tick(int64_t tick, FrameRate fps, int64_t frame_count) {
  if (fps.num <= 0 || fps.den <= 0) throw Error("frame rate must be positive");
  if (frame_count < 1) throw Error("held_frame_at_tick: no frames");
  if (tick < 0) throw Error("held_frame_at_tick: negative tick");
  // j/fps <= tick/30  <=>  j * den * 30 <= tick * num  (integer arithmetic, no drift).
  const int64_t j = (tick * fps.num) / (fps.den * kTicksPerSecond);
  return std::min(j, frame_count - 1);
}

int64_t complete_segments(int64_t frame_count, FrameRate fps) {
  if (fps.num <= 0 || fps.den <= 0) throw Error("frame rate must be positive");
  if (frame_count <= 0) return 0;
  // duration = frame_count * den / num seconds; segments = floor(duration / 5).
  return (frame_count * fps.den) / (fps.num * kSegmentSeconds);
}

}  // namespace hl
