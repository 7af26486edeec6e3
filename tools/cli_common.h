// What every hl command-line program shares: the standard options (--version,
// --log-level), one way of reporting errors and choosing exit codes, and the --weights
// option. A tool declares its own options on app() and hands its work to run():
//
//   int main(int argc, char** argv) {
//     hl::cli::Tool tool("inspect", "Print the tensors of weight and feature files.");
//     std::vector<std::string> files;
//     tool.app().add_option("FILE", files, "files to inspect")->required();
//     return tool.run(argc, argv, [&] { return inspect(files); });
//   }
//
// Exit codes: 0 success; 1 the work failed (hl::Error or any other exception, printed as
// "hl-<tool>: error: <message>" on stderr); 2 the command line is wrong (a CLI11 parse
// error, printed the same way with a pointer to --help). A tool may return other codes
// from its work function.
#pragma once
#include <CLI/CLI.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "engine/device.h"

namespace hl::cli {

inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// The version of hl the tools were built from ("0.1.0").
const char* version();

class Tool {
 public:
  // `name` without the "hl-" prefix; `description` is the first line of --help.
  Tool(std::string name, std::string description);

  CLI::App& app() { return app_; }
  const std::string& program() const { return program_; }  // "hl-inspect"

  // Parses the command line, applies --log-level, then calls `work` and returns its
  // exit code; exceptions become an error message and kExitFailure.
  int run(int argc, char** argv, const std::function<int()>& work);

  // Prints "hl-<tool>: error: <message>" to stderr (for problems a tool reports and
  // carries on from, e.g. one bad file among several).
  void print_error(const std::string& message) const;

 private:
  std::string program_;
  CLI::App app_;
  std::string log_level_;
};

// Checks an option's value is a whole number from 1 to `max`, with a plain message
// ("'0' is not a whole number from 1 to 1000000"), where CLI::PositiveNumber would
// print the range of a double. Used for --k by hl-eval and hl-train.
CLI::Validator positive_integer(int64_t max = 1000000);

// The message of a std::filesystem::filesystem_error (which Tool::run reports as any
// other failure): "<path>: <operation>: <reason>".
std::string filesystem_error_message(const std::filesystem::filesystem_error& e);

// Adds "--weights DIR" bound to `dir` (left empty when not given). Resolve it with
// hl::weights_dir(dir) from weights/weights_dir.h, which applies the shared rule:
// --weights, else $HL_WEIGHTS, else the per-user data folder.
CLI::Option* add_weights_option(CLI::App& app, std::string& dir);

// Adds "--device cpu|cuda[:N]" bound to `device` (default: the CPU), parsed by
// hl::parse_device (engine/device.h), so every tool names devices the same way.
CLI::Option* add_device_option(CLI::App& app, Device& device, const std::string& description);

}  // namespace hl::cli
