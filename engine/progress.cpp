#include "engine/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace hl {

namespace {

// The one bar currently on the terminal, so log lines can step around it.
std::mutex g_bar_mutex;
ProgressBar* g_active_bar = nullptr;
std::string g_last_line;

bool terminal_wanted() { return isatty(STDERR_FILENO) == 1 && std::getenv("HL_NO_PROGRESS") == nullptr; }

std::string format_rate(double rate) {
  char buf[32];
  if (rate >= 100)
    std::snprintf(buf, sizeof buf, "%.0f", rate);
  else
    std::snprintf(buf, sizeof buf, "%#.3g", rate);  // 3 significant digits, zeros kept: 45.0, 3.50
  return buf;
}

}  // namespace

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long s = std::lround(seconds);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

std::string format_progress_line(const std::string& label, int64_t done, int64_t total, double elapsed_seconds,
                                 const std::string& unit, const std::string& postfix, int bar_width) {
  std::string line = label;
  const double rate = elapsed_seconds > 0 ? static_cast<double>(done) / elapsed_seconds : 0.0;
  if (total > 0) {
    const double frac = std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
    const int filled = static_cast<int>(frac * bar_width);
    std::string bar(static_cast<size_t>(bar_width), ' ');
    for (int i = 0; i < filled; ++i) bar[static_cast<size_t>(i)] = '=';
    if (filled < bar_width) bar[static_cast<size_t>(filled)] = '>';
    char pct[8];
    std::snprintf(pct, sizeof pct, "%3d%%", static_cast<int>(frac * 100));
    line += " [" + bar + "] " + pct + " " + std::to_string(done) + "/" + std::to_string(total);
  } else {
    line += " " + std::to_string(done);
  }
  line += " " + format_rate(rate) + " " + unit + "/s";
  if (total > 0) {
    const double eta = rate > 0 ? static_cast<double>(total - done) / rate : NAN;
    line += " ETA " + format_duration(done >= total ? 0.0 : eta);
  }
  if (!postfix.empty()) line += " " + postfix;
  return line;
}

ProgressBar::ProgressBar(std::string label, int64_t total, std::string unit)
    : label_(std::move(label)), total_(total), unit_(std::move(unit)), visible_(terminal_wanted()) {
  start_ = last_draw_ = std::chrono::steady_clock::now();
  if (visible_) {
    std::lock_guard<std::mutex> lock(g_bar_mutex);
    g_active_bar = this;
  }
  draw(true);
}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::advance(int64_t n) {
  done_ += n;
  draw(false);
}

void ProgressBar::set_postfix(std::string text) {
  postfix_ = std::move(text);
  draw(false);
}

void ProgressBar::finish() {
  if (finished_) return;
  draw(true);
  finished_ = true;
  if (visible_) {
    std::lock_guard<std::mutex> lock(g_bar_mutex);
    std::fputc('\n', stderr);
    std::fflush(stderr);
    if (g_active_bar == this) g_active_bar = nullptr;
    g_last_line.clear();
  }
}

void ProgressBar::draw(bool force) {
  if (!visible_ || finished_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  std::lock_guard<std::mutex> lock(g_bar_mutex);
  g_last_line = format_progress_line(label_, done_, total_, elapsed, unit_, postfix_);
  std::fprintf(stderr, "\r\033[2K%s", g_last_line.c_str());
  std::fflush(stderr);
}

void progress_suspend_for_log() {
  std::lock_guard<std::mutex> lock(g_bar_mutex);
  if (g_active_bar) std::fputs("\r\033[2K", stderr);
}

void progress_resume_after_log() {
  std::lock_guard<std::mutex> lock(g_bar_mutex);
  if (g_active_bar) {
    std::fputs(g_last_line.c_str(), stderr);
    std::fflush(stderr);
  }
}

}  // namespace hl
