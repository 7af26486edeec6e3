// A highlight reel: chosen time ranges of one video joined, in the order given, into one
// H.264/AAC MP4 through FFmpeg's libraries (docs/highlights.md, "The reel").
//
// Re-encoded, not stream-copied, so every cut is frame-exact: a cut [start, end) seconds
// (counted from the first video frame) keeps the frames round(start · rate) ..
// round(end · rate) - 1, as the EDL counts them (tools/edl.h), and the audio of exactly
// those frames' time, so picture and sound stay in sync across every join. A source
// without audio gives a video-only reel (no silent track is invented).
//
// This header does not include FFmpeg's headers; it exists only in builds with
// -DHL_FFMPEG=ON (the default).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/media/media.h"

namespace hl::media {

struct ReelCut {
  double start_seconds = 0;  // from the video's first frame
  double end_seconds = 0;    // > start_seconds; cuts in increasing time order, not overlapping
};

struct ReelOptions {
  // The frame rate the cut times are rounded to (the EDL's): the video stream's average
  // rate; 0/1 takes it from the file.
  Rate rate{0, 1};
  // libx264's constant rate factor: 12 is visually lossless (the tests compare decoded
  // frames with the source's).
  int crf = 12;
  std::string preset = "veryfast";
  int64_t audio_bit_rate = 192000;
  Limits limits;
};

struct ReelResult {
  int64_t video_frames = 0;   // frames written
  int64_t audio_samples = 0;  // per channel, at audio_sample_rate (0 without audio)
  int audio_sample_rate = 0;
  double seconds = 0;  // video_frames / rate
};

// Writes the reel of `cuts` of `video` to `out_path` (an MP4; replaced if it exists).
// Throws hl::FormatError naming `video` for an unreadable input or one without a video
// stream, hl::Error naming `out_path` when it cannot be written or this FFmpeg has no
// libx264 or aac encoder; a failed call removes what it wrote.
ReelResult write_reel(const std::string& video, const std::vector<ReelCut>& cuts, const std::string& out_path,
                      const ReelOptions& options = {});

}  // namespace hl::media
