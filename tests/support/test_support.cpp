#include "support/test_support.h"

#include "engine/error.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

namespace hl::test {

namespace fs = std::filesystem;

TempDir::TempDir() {
  std::random_device rd;
  for (int attempt = 0; attempt < 100; ++attempt) {
    fs::path p = fs::temp_directory_path() / ("hl-test-" + std::to_string(rd()));
    if (fs::create_directory(p)) {
      path_ = p;
      return;
    }
  }
  throw std::runtime_error("cannot create a temporary folder");
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::vector<fs::path> fuzz_corpus_files(const std::string& name) {
  std::vector<fs::path> files;
  const fs::path dir = source_dir() / "tests" / "fuzz" / "corpus" / name;
  if (fs::is_directory(dir))
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

fs::path source_dir() {
  const char* s = std::getenv("HL_SOURCE_DIR");
  return fs::path(s && *s ? s : HL_TEST_SOURCE_DIR);
}

static std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

int run_golden_script(const std::string& script, const std::vector<std::string>& args) {
  const char* py = std::getenv("HL_PYTHON");
  std::string cmd = shell_quote(py && *py ? py : HL_TEST_PYTHON) + " " +
                    shell_quote((source_dir() / "tests" / "golden" / script).string());
  for (const auto& a : args) cmd += " " + shell_quote(a);
  int status = std::system(cmd.c_str());
  if (status == -1) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

double relative_error(const float* a, const float* b, int64_t n, int64_t* worst) {
  double max_diff = 0, max_ref = 0;
  int64_t worst_i = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (std::isnan(a[i]) || std::isnan(b[i])) {
      if (worst) *worst = i;
      return INFINITY;
    }
    double d = std::fabs(static_cast<double>(a[i]) - b[i]);
    if (d > max_diff) {
      max_diff = d;
      worst_i = i;
    }
    max_ref = std::max(max_ref, std::fabs(static_cast<double>(b[i])));
  }
  if (worst) *worst = worst_i;
  return max_ref > 0 ? max_diff / max_ref : max_diff;
}

void expect_close(const float* actual, const float* expected, int64_t n, double tol, const std::string& what) {
  int64_t worst = 0;
  double err = relative_error(actual, expected, n, &worst);
  EXPECT_LE(err, tol) << what << ": relative error " << err << " > " << tol << " (n=" << n << "); worst element ["
                      << worst << "]: got " << (n ? actual[worst] : 0.0f) << ", expected "
                      << (n ? expected[worst] : 0.0f);
}

void expect_close(const std::vector<float>& actual, const std::vector<float>& expected, double tol,
                  const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what << ": sizes differ";
  expect_close(actual.data(), expected.data(), static_cast<int64_t>(actual.size()), tol, what);
}

std::vector<float> random_floats(int64_t n, uint32_t seed, float lo, float hi) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = dist(gen);
  return v;
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open " + path);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!f) throw std::runtime_error("cannot write " + path);
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

CommandResult run_command(const std::vector<std::string>& argv) {
  TempDir dir;
  std::string cmd;
  for (const auto& a : argv) cmd += shell_quote(a) + " ";
  cmd += "</dev/null >" + shell_quote(dir.file("out")) + " 2>" + shell_quote(dir.file("err"));
  const int status = std::system(cmd.c_str());
  CommandResult r;
  r.exit_code = status == -1 ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  const auto out = read_file(dir.file("out"));
  const auto err = read_file(dir.file("err"));
  r.out.assign(out.begin(), out.end());
  r.err.assign(err.begin(), err.end());
  return r;
}

void write_file(const std::string& path, const std::string& text) {
  write_file(path, std::vector<uint8_t>(text.begin(), text.end()));
}

}  // namespace hl::test
