// Shared helpers for the GoogleTest suites: temporary folders, running the golden
// reference scripts, comparing arrays with the project's tolerance rule (max |a-b| /
// max |b|, printing the worst element), and skipping GPU tests visibly.
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "engine/device.h"

namespace hl::test {

// A fresh, empty folder under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// The source tree root (from HL_SOURCE_DIR, set by ctest).
std::filesystem::path source_dir();

// The files of the fuzz seed corpus tests/fuzz/corpus/<name>, sorted (empty when the
// folder is missing: the replay tests then fail on their minimum count).
std::vector<std::filesystem::path> fuzz_corpus_files(const std::string& name);

// Runs tests/golden/<script> with the reference Python (HL_PYTHON: the project's
// virtual environment, which sees Debian's torch) and the given arguments. Returns the
// exit status; the script's output goes to the test log.
int run_golden_script(const std::string& script, const std::vector<std::string>& args);

// Relative error max|a-b| / max|b| (absolute when max|b| == 0). NaN anywhere in a or
// b gives +inf. `worst` receives the index of the element with the largest |a-b|.
double relative_error(const float* a, const float* b, int64_t n, int64_t* worst = nullptr);

// EXPECTs relative_error(actual, expected) <= tol and prints the worst element if not.
void expect_close(const float* actual, const float* expected, int64_t n, double tol, const std::string& what);
void expect_close(const std::vector<float>& actual, const std::vector<float>& expected, double tol,
                  const std::string& what);

// The message of the hl::Error that fn throws, or "(no error)".
std::string error_of(const std::function<void()>& fn);

std::vector<float> random_floats(int64_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f);
std::vector<uint8_t> read_file(const std::string& path);
void write_file(const std::string& path, const std::vector<uint8_t>& bytes);
void write_file(const std::string& path, const std::string& text);

// Runs a program as a user would (argv[0] is its path; every argument is shell-quoted,
// stdin is /dev/null), waits, and
// returns its exit code and what it printed.
struct CommandResult {
  int exit_code = -1;  // 128 + signal when it was killed
  std::string out;
  std::string err;
};
CommandResult run_command(const std::vector<std::string>& argv);

}  // namespace hl::test

// Skips the current test with a visible message unless a CUDA device can be used.
#define HL_REQUIRE_CUDA()                                                                  \
  do {                                                                                     \
    if (!::hl::cuda_available())                                                           \
      GTEST_SKIP() << "no CUDA device (build without CUDA, or no GPU on this machine)"; \
  } while (0)
