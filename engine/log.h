// Logging for every tool and library layer: one line per message to stderr,
// "hl [level] message". The threshold comes from set_log_level() or, at start-up, from
// the environment variable HL_LOG_LEVEL (debug, info, warn, error; default info).
// A progress bar on the terminal is cleared before a log line is written and redrawn after.
#pragma once
#include <sstream>
#include <string>

namespace hl {

enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3, Off = 4 };

void set_log_level(LogLevel level);
LogLevel log_level();
// Parses "debug" | "info" | "warn" | "error" | "off"; throws hl::Error otherwise.
LogLevel parse_log_level(const std::string& text);
void log_message(LogLevel level, const std::string& message);

// Builds a message with << and logs it when destroyed: HL_LOG(Info) << "read " << n;
class LogLine {
 public:
  explicit LogLine(LogLevel level) : level_(level) {}
  ~LogLine() { log_message(level_, stream_.str()); }
  template <typename T>
  LogLine& operator<<(const T& value) {
    stream_ << value;
    return *this;
  }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};

}  // namespace hl

// Skips building the message entirely when the level is filtered out.
#define HL_LOG(level) \
  if (::hl::LogLevel::level < ::hl::log_level()) {} else ::hl::LogLine(::hl::LogLevel::level)
