#include "tools/cli_common.h"

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <charconv>
#include <string>
#include <exception>
#include <filesystem>

#include "engine/error.h"
#include "engine/log.h"
#include "kernels/cpu/blas_check.h"

#ifndef HL_VERSION
#error "HL_VERSION must be defined by the build (tools/CMakeLists.txt)"
#endif

namespace hl::cli {

const char* version() { return HL_VERSION; }

Tool::Tool(std::string name, std::string description)
    : program_("hl-" + name), app_(std::move(description), program_) {
  app_.set_version_flag("--version", program_ + " " + version());
  app_.add_option("--log-level", log_level_,
                  "messages to show on stderr: debug, info, warn, error or off "
                  "(default: $HL_LOG_LEVEL, else info)")
      ->check(CLI::IsMember({"debug", "info", "warn", "error", "off"}))
      ->option_text("LEVEL");
  app_.get_formatter()->column_width(30);
}

void Tool::print_error(const std::string& message) const {
  std::fflush(stdout);  // keep what was printed before the error in order on a terminal
  std::fprintf(stderr, "%s: error: %s\n", program_.c_str(), message.c_str());
}

namespace {

// Debian's OpenBLAS picks its kernels from the CPU model when it loads; on CPUs newer
// than the library it falls back to SSE3 kernels that run matrix products 3x slower
// (kernels/cpu/blas_check.h), and only OPENBLAS_CORETYPE, read at load time, changes
// that. So a tool restarts itself once, with that variable set, before doing anything.
// A variable the user set is never overridden; HL_BLAS_RESTARTED stops a second restart.
void restart_with_better_blas_kernels(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") || std::getenv("HL_BLAS_RESTARTED")) return;
  const std::string core = hl::cpu::blas_suggested_coretype();
  if (core.empty()) return;
  ::setenv("OPENBLAS_CORETYPE", core.c_str(), 1);
  ::setenv("HL_BLAS_RESTARTED", "1", 1);
  ::execv("/proc/self/exe", argv);
  // Only reached when the restart failed: go on with the slower kernels.
  ::unsetenv("OPENBLAS_CORETYPE");
}

}  // namespace

// "runs/a: cannot create directories: Not a directory", not the library's
// "filesystem error: ... [runs/a]" as an unexpected failure: a file-system refusal is
// an ordinary failure of the user's paths.
std::string filesystem_error_message(const std::filesystem::filesystem_error& e) {
  std::string what = e.what();
  // libstdc++ writes "filesystem error: <operation>: <reason> [path1] [path2]": keep the operation.
  const std::string prefix = "filesystem error: ", reason = ": " + e.code().message();
  std::string operation;
  const size_t at = what.find(reason);
  if (what.rfind(prefix, 0) == 0 && at != std::string::npos) operation = what.substr(prefix.size(), at - prefix.size());
  std::string out = e.path1().empty() ? std::string() : e.path1().string() + ": ";
  if (!operation.empty()) out += operation + ": ";
  out += e.code().message();
  if (!e.path2().empty()) out += " (with " + e.path2().string() + ")";
  return out;
}

CLI::Validator positive_integer(int64_t max) {
  return CLI::Validator(
      [max](const std::string& text) -> std::string {
        int64_t value = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec == std::errc() && end == text.data() + text.size() && value >= 1 && value <= max) return "";
        return "'" + text + "' is not a whole number from 1 to " + std::to_string(max);
      },
      "INT in [1, " + std::to_string(max) + "]");
}

int Tool::run(int argc, char** argv, const std::function<int()>& work) {
  // A file-size limit (ulimit -f) would otherwise kill the tool with SIGXFSZ in the
  // middle of a write: no message, a temporary file left. Ignored, the write fails with
  // EFBIG, which the writers (engine/atomic_file.h) report, naming the file.
  std::signal(SIGXFSZ, SIG_IGN);
  restart_with_better_blas_kernels(argv);
  try {
    app_.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app_.exit(e);  // help text on stdout, exit 0
  } catch (const CLI::CallForAllHelp& e) {
    return app_.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app_.exit(e);
  } catch (const CLI::ParseError& e) {
    // CLI11 has its own exit code per parse error; a usage error is 2 for every tool.
    print_error(std::string(e.what()) + "\nRun " + program_ + " --help for more information.");
    return kExitUsage;
  }
  try {
    if (!log_level_.empty()) set_log_level(parse_log_level(log_level_));
    return work();
  } catch (const hl::Error& e) {
    print_error(e.what());
  } catch (const std::bad_alloc&) {
    print_error("out of memory");
  } catch (const std::filesystem::filesystem_error& e) {
    print_error(filesystem_error_message(e));
  } catch (const std::exception& e) {
    print_error(std::string("unexpected failure: ") + e.what());
  }
  return kExitFailure;
}

CLI::Option* add_weights_option(CLI::App& app, std::string& dir) {
  return app
      .add_option("--weights", dir,
                  "folder of converted weight files (default: $HL_WEIGHTS, else "
                  "$XDG_DATA_HOME/hl/weights or ~/.local/share/hl/weights)")
      ->option_text("DIR");
}

CLI::Option* add_device_option(CLI::App& app, Device& device, const std::string& description) {
  return app
      .add_option_function<std::string>(
          "--device", [&device](const std::string& text) { device = parse_device(text); }, description)
      ->check([](const std::string& text) {
        try {
          (void)parse_device(text);
          return std::string();
        } catch (const Error& e) {
          return std::string(e.what());
        }
      })
      ->option_text("cpu|cuda[:N]");
}

}  // namespace hl::cli
