#include "engine/log.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "engine/error.h"
#include "engine/progress.h"

namespace hl {

namespace {

LogLevel initial_level() {
  const char* env = std::getenv("HL_LOG_LEVEL");
  if (!env) return LogLevel::Info;
  try {
    return parse_log_level(env);
  } catch (const Error&) {
    std::fprintf(stderr, "hl [warn] HL_LOG_LEVEL='%s' is not one of debug, info, warn, error, off; using info\n", env);
    return LogLevel::Info;
  }
}

std::atomic<LogLevel>& level_ref() {
  static std::atomic<LogLevel> level{initial_level()};
  return level;
}

std::mutex& log_mutex() {
  static std::mutex m;
  return m;
}

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::Debug: return "debug";
    case LogLevel::Info: return "info";
    case LogLevel::Warn: return "warn";
    case LogLevel::Error: return "error";
    case LogLevel::Off: return "off";
  }
  return "?";
}

}  // namespace

void set_log_level(LogLevel level) { level_ref().store(level); }
LogLevel log_level() { return level_ref().load(); }

LogLevel parse_log_level(const std::string& text) {
  for (LogLevel l : {LogLevel::Debug, LogLevel::Info, LogLevel::Warn, LogLevel::Error, LogLevel::Off})
    if (text == level_name(l)) return l;
  throw Error("unknown log level '" + text + "': use debug, info, warn, error or off");
}

void log_message(LogLevel level, const std::string& message) {
  if (level < log_level() || level == LogLevel::Off) return;
  std::lock_guard<std::mutex> lock(log_mutex());
  progress_suspend_for_log();
  std::fprintf(stderr, "hl [%s] %s\n", level_name(level), message.c_str());
  std::fflush(stderr);
  progress_resume_after_log();
}

}  // namespace hl
