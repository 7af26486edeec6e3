// CMX 3600 edit decision lists of the chosen highlight segments (hl-highlights,
// docs/highlights.md), for DaVinci Resolve, Premiere and other editors.
//
// Timecodes are at the video's frame rate: non-drop-frame HH:MM:SS:FF for integer rates;
// drop-frame HH:MM:SS;FF for 30000/1001 (29.97, frame numbers 00 and 01 skipped at every
// minute but each tenth) and 60000/1001 (59.94, 00-03 skipped); 24000/1001 (23.976) is
// non-drop-frame counted in 24s, as editors do. Other rates (a variable-rate video's
// average) are counted at the nearest integer rate (non-drop-frame), which the caller
// warns about. Source timecodes count from 00:00:00:00 at the first frame; the record
// (timeline) side starts at 01:00:00:00, the editors' default.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hl::edl {

// A rate as a positive rational, frames per second.
struct Rate {
  int64_t num = 30000;
  int64_t den = 1001;
};

// How timecodes are written for a rate.
struct TimecodeBase {
  int64_t frames_per_second = 30;  // the FF field's base (30 for 29.97)
  int64_t dropped = 0;             // frame numbers skipped per minute (2 at 29.97, 4 at 59.94)
  bool exact = true;               // false: a rate counted at the nearest integer rate
};
TimecodeBase timecode_base(Rate rate);

// Frame number (0-based count of frames at the base) -> "HH:MM:SS:FF", or "HH:MM:SS;FF"
// drop-frame.
std::string timecode(int64_t frame, const TimecodeBase& base);

// The frame at time num/den seconds (exactly), rounded to the nearest frame (a half
// rounds up): round(seconds * rate).
int64_t frame_at(int64_t seconds_num, int64_t seconds_den, Rate rate);

// One event: the source's frames [in, out).
struct Event {
  int64_t source_in = 0, source_out = 0;
};

// The whole list: TITLE, FCM (DROP FRAME or NON-DROP FRAME), then one "AA/V" cut
// event per segment in the given order with its "* FROM CLIP NAME:" comment, the
// record side placed end to end from 01:00:00:00.
std::string write_edl(const std::string& title, const std::string& clip_name, const std::vector<Event>& events,
                      Rate rate);

}  // namespace hl::edl
