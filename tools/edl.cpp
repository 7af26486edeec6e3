// CMX 3600 edit decision lists: see edl.h.
#include "tools/edl.h"

#include <cmath>
#include <cstdio>

#include "engine/error.h"

namespace hl::edl {

TimecodeBase timecode_base(Rate rate) {
  if (rate.num <= 0 || rate.den <= 0) throw Error("the EDL needs a positive frame rate");
  if (rate.num % rate.den == 0) return {rate.num / rate.den, 0, true};
  if (rate.den == 1001 && rate.num == 30000) return {30, 2, true};
  if (rate.den == 1001 && rate.num == 60000) return {60, 4, true};
  if (rate.den == 1001 && rate.num == 24000) return {24, 0, true};
  const auto nearest = static_cast<int64_t>(std::llround(static_cast<double>(rate.num) / static_cast<double>(rate.den)));
  return {std::max<int64_t>(1, nearest), 0, false};
}

std::string timecode(int64_t frame, const TimecodeBase& base) {
  if (frame < 0) throw Error("a timecode's frame number cannot be negative");
  const int64_t fps = base.frames_per_second;
  int64_t n = frame;
  if (base.dropped > 0) {
    // Drop-frame: the labels skip `dropped` numbers at the start of every minute but
    // each tenth, so a label's position is the frame count plus the numbers skipped so far.
    const int64_t d = base.dropped;
    const int64_t per_10_minutes = 600 * fps - 9 * d;
    const int64_t per_minute = 60 * fps - d;
    const int64_t tens = frame / per_10_minutes, rest = frame % per_10_minutes;
    n += 9 * d * tens;
    if (rest > d) n += d * ((rest - d) / per_minute);
  }
  char text[32];
  std::snprintf(text, sizeof text, "%02lld:%02lld:%02lld%c%02lld", static_cast<long long>(n / (fps * 3600)),
                static_cast<long long>(n / (fps * 60) % 60), static_cast<long long>(n / fps % 60),
                base.dropped > 0 ? ';' : ':', static_cast<long long>(n % fps));
  return text;
}

int64_t frame_at(int64_t seconds_num, int64_t seconds_den, Rate rate) {
  // round(sn/sd * num/den) = floor((2 sn num + sd den) / (2 sd den)), in 128-bit.
  const __int128 p = static_cast<__int128>(seconds_num) * rate.num;
  const __int128 q = static_cast<__int128>(seconds_den) * rate.den;
  return static_cast<int64_t>((2 * p + q) / (2 * q));
}

std::string write_edl(const std::string& title, const std::string& clip_name, const std::vector<Event>& events,
                      Rate rate) {
  const TimecodeBase base = timecode_base(rate);
  std::string text = "TITLE: " + title + "\n";
  text += base.dropped > 0 ? "FCM: DROP FRAME\n\n" : "FCM: NON-DROP FRAME\n\n";
  // 01:00:00:00 as a frame count: one hour of labels less those a drop-frame hour skips.
  int64_t record = 3600 * base.frames_per_second - 54 * base.dropped;
  char line[160];
  for (size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    const int64_t length = e.source_out - e.source_in;
    std::snprintf(line, sizeof line, "%03zu  AX       AA/V  C        %s %s %s %s\n", i + 1,
                  timecode(e.source_in, base).c_str(), timecode(e.source_out, base).c_str(),
                  timecode(record, base).c_str(), timecode(record + length, base).c_str());
    text += line;
    text += "* FROM CLIP NAME: " + clip_name + "\n\n";
    record += length;
  }
  return text;
}

}  // namespace hl::edl
