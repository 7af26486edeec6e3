// A progress bar on stderr for long work (extraction, training epochs): a bar, the
// count, the rate and the time left. Drawn only when stderr is a terminal (never into
// logs or pipes) and not when HL_NO_PROGRESS is set; redrawn at most 10 times a second.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace hl {

class ProgressBar {
 public:
  // total <= 0 means unknown (no bar or ETA, just count and rate).
  ProgressBar(std::string label, int64_t total, std::string unit = "it");
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void advance(int64_t n = 1);
  // Text shown after the rate, e.g. "loss 0.213 ndcg@10 0.61".
  void set_postfix(std::string text);
  // Draws the final state and ends the line (also done by the destructor).
  void finish();

  int64_t done() const { return done_; }
  bool visible() const { return visible_; }

 private:
  void draw(bool force);
  std::string label_;
  int64_t total_;
  std::string unit_;
  std::string postfix_;
  int64_t done_ = 0;
  bool visible_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// The text of one progress line (no terminal codes), for the bar and for tests:
// "label [=========>          ]  45% 450/1000 12.3 it/s ETA 0:45 postfix".
std::string format_progress_line(const std::string& label, int64_t done, int64_t total, double elapsed_seconds,
                                 const std::string& unit, const std::string& postfix, int bar_width = 30);

// "1:02:03" for hours, "2:03" below an hour.
std::string format_duration(double seconds);

// Called by the logger: clears a visible bar's line before a message, redraws after.
void progress_suspend_for_log();
void progress_resume_after_log();

}  // namespace hl
