// Running a tool under a file-size limit (`ulimit -f`), for the tests that check every
// writer reports EFBIG instead of dying of SIGXFSZ (engine/atomic_file.h,
// tools/cli_common.cpp).
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace hl::test {

// `argv` run by bash after `ulimit -f kib` (bash counts in 1024-byte blocks). The limit
// also applies to the files run_command sends stdout and stderr to, so `kib` must leave
// room for the tool's messages.
inline CommandResult run_with_file_size_limit(int kib, std::vector<std::string> argv) {
  argv.insert(argv.begin(), {"/bin/bash", "-c", "ulimit -f " + std::to_string(kib) + " && exec \"$0\" \"$@\""});
  return run_command(argv);
}

// Every file under `dir` (recursively) whose name contains ".tmp.": AtomicFile's
// temporaries ("<target>.tmp.<pid>.<n>"), which a failed write must not leave behind.
inline std::vector<std::string> temporaries_under(const std::string& dir) {
  std::vector<std::string> found;
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return found;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.path().filename().string().find(".tmp.") != std::string::npos) found.push_back(e.path().string());
  return found;
}

}  // namespace hl::test
