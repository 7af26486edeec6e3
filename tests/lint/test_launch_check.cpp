// Every CUDA kernel launch in the sources is followed by HL_CUDA_LAUNCH_CHECK();
// (DESIGN section 3). A launch error (bad configuration, no kernel image for this GPU)
// is otherwise silent until some later, unrelated call fails.
//
// The scanner blanks out comments and string/character literals, then for each `<<<`
// finds the closing `>>>`, the parenthesised argument list (which may span lines) and
// the `;` that ends the statement, and requires the next statement to be
// HL_CUDA_LAUNCH_CHECK();. It scans the library and tool folders of the source tree
// (hl::test::source_dir(): HL_SOURCE_DIR, set by ctest, or the tree it was built from)
// and is itself tested on small snippets, so a broken scanner cannot pass silently.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "lint/source_files.h"
#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;

struct Finding {
  int line;
  std::string problem;
};

bool is_ident(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Comments and literals become spaces; newlines are kept so line numbers stay right.
std::string blank_comments_and_literals(const std::string& s) {
  std::string out = s;
  auto blank = [&](size_t from, size_t to) {
    for (size_t k = from; k < to && k < out.size(); ++k)
      if (out[k] != '\n') out[k] = ' ';
  };
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '/' && i + 1 < s.size() && s[i + 1] == '/') {
      const size_t end = s.find('\n', i);
      const size_t stop = end == std::string::npos ? s.size() : end;
      blank(i, stop);
      i = stop;
    } else if (c == '/' && i + 1 < s.size() && s[i + 1] == '*') {
      const size_t end = s.find("*/", i + 2);
      const size_t stop = end == std::string::npos ? s.size() : end + 2;
      blank(i, stop);
      i = stop;
    } else if (c == '"' && i > 0 && s[i - 1] == 'R') {  // raw string R"delim( ... )delim"
      const size_t open = s.find('(', i);
      if (open == std::string::npos) return out;
      const std::string close = ")" + s.substr(i + 1, open - i - 1) + "\"";
      const size_t end = s.find(close, open);
      const size_t stop = end == std::string::npos ? s.size() : end + close.size();
      blank(i, stop);
      i = stop;
    } else if (c == '"' || c == '\'') {
      size_t k = i + 1;
      while (k < s.size() && s[k] != c && s[k] != '\n') k += (s[k] == '\\') ? 2 : 1;
      const size_t stop = k < s.size() ? k + 1 : s.size();
      blank(i, stop);
      i = stop;
    } else if (std::isdigit(static_cast<unsigned char>(c)) && (i == 0 || !is_ident(s[i - 1]))) {
      // A number, whose digit separators (1'000) must not open a character literal.
      while (i < s.size() && (is_ident(s[i]) || s[i] == '.' || s[i] == '\'')) ++i;
    } else {
      ++i;
    }
  }
  return out;
}

size_t skip_space(const std::string& s, size_t i) {
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return i;
}

// Matches `text` at i, allowing whitespace between its tokens; returns the index after
// it, or npos. `tokens` are matched in order.
size_t expect_tokens(const std::string& s, size_t i, const std::vector<std::string>& tokens) {
  for (const std::string& t : tokens) {
    i = skip_space(s, i);
    if (s.compare(i, t.size(), t) != 0) return std::string::npos;
    i += t.size();
  }
  return i;
}

// Launches in `source` without a following launch check. `launches` counts them all.
std::vector<Finding> unchecked_launches(const std::string& source, int* launches = nullptr) {
  const std::string code = blank_comments_and_literals(source);
  std::vector<Finding> findings;
  int count = 0;
  for (size_t at = code.find("<<<"); at != std::string::npos; at = code.find("<<<", at + 3)) {
    ++count;
    const int line = 1 + static_cast<int>(std::count(code.begin(), code.begin() + static_cast<long>(at), '\n'));
    const size_t config_end = code.find(">>>", at + 3);
    if (config_end == std::string::npos) {
      findings.push_back({line, "launch configuration <<<...>>> is not closed"});
      break;
    }
    size_t i = skip_space(code, config_end + 3);
    if (i >= code.size() || code[i] != '(') {
      findings.push_back({line, "no argument list after >>>"});
      continue;
    }
    int depth = 0;
    for (; i < code.size(); ++i) {
      if (code[i] == '(') ++depth;
      if (code[i] == ')' && --depth == 0) break;
    }
    const size_t after_args = expect_tokens(code, i + 1, {";"});
    if (i >= code.size() || after_args == std::string::npos) {
      findings.push_back({line, "the launch statement does not end with ');'"});
      continue;
    }
    if (expect_tokens(code, after_args, {"HL_CUDA_LAUNCH_CHECK", "(", ")", ";"}) == std::string::npos)
      findings.push_back({line, "kernel launch not followed by HL_CUDA_LAUNCH_CHECK();"});
  }
  if (launches) *launches = count;
  return findings;
}

TEST(LaunchCheckScanner, AcceptsACheckedLaunch) {
  const std::string good =
      "void f(cudaStream_t s) {\n"
      "  scale_kernel<<<grid_blocks(n), 256, 0, s>>>(x, y, n);\n"
      "  HL_CUDA_LAUNCH_CHECK();\n"
      "}\n";
  int launches = 0;
  EXPECT_TRUE(unchecked_launches(good, &launches).empty());
  EXPECT_EQ(launches, 1);
}

TEST(LaunchCheckScanner, FlagsAMissingCheckWithItsLine) {
  const std::string missing =
      "void f() {\n"
      "  first<<<1, 32>>>(a);\n"
      "  HL_CUDA_LAUNCH_CHECK();\n"
      "  second<<<1, 32>>>(b);\n"
      "  other_call();\n"
      "  HL_CUDA_LAUNCH_CHECK();\n"
      "}\n";
  const auto findings = unchecked_launches(missing);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].line, 4);
}

TEST(LaunchCheckScanner, FollowsMultiLineLaunches) {
  const std::string multi_line_good =
      "columns_kernel<R><<<grid,\n"
      "                    block, 0, stream>>>(\n"
      "    x, f(y, (z + 1)),\n"
      "    \"a ) string\", ')');\n"
      "HL_CUDA_LAUNCH_CHECK ( ) ;\n";
  EXPECT_TRUE(unchecked_launches(multi_line_good).empty());
  const std::string multi_line_commented_check =
      "\n"
      "k<<<g, b>>>(x,\n"
      "            y);\n"
      "// HL_CUDA_LAUNCH_CHECK();\n";
  const auto findings = unchecked_launches(multi_line_commented_check);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].line, 2);
  EXPECT_EQ(unchecked_launches("k<<<1, 1>>>(x);\nHL_CUDA_LAUNCH_CHECK()\nfoo();\n").size(), 1u)
      << "the check's own ';' is required";
}

TEST(LaunchCheckScanner, IgnoresLaunchesInCommentsAndStrings) {
  const std::string text =
      "// k<<<1, 1>>>(x);\n"
      "/* k<<<1, 1>>>(x); */\n"
      "const char* s = \"k<<<1, 1>>>(x);\";\n"
      "const char* r = R\"doc(k<<<1, 1>>>(x);)doc\";\n"
      "int big = 1'000'000; char c = '<';\n";
  int launches = -1;
  EXPECT_TRUE(unchecked_launches(text, &launches).empty());
  EXPECT_EQ(launches, 0);
}

TEST(LaunchCheck, EveryLaunchInTheSourcesIsChecked) {
  const fs::path root = hl::test::source_dir();
  ASSERT_TRUE(fs::is_directory(root / "kernels")) << "source tree not found at " << root << " (set HL_SOURCE_DIR)";
  int total_launches = 0;
  std::vector<std::string> problems;
  const std::vector<std::string> folders = {"kernels", "engine", "weights", "nets", "pipeline", "tools"};
  for (const hl::lint::SourceFile& file : hl::lint::read_sources(root, folders)) {
    int launches = 0;
    for (const Finding& f : unchecked_launches(file.text, &launches))
      problems.push_back(file.path + ":" + std::to_string(f.line) + ": " + f.problem);
    total_launches += launches;
  }
  for (const std::string& p : problems) ADD_FAILURE() << p;
  // The CUDA kernels launch in elementwise, reduce, transpose, cast and random: if the
  // scan saw fewer, it is not reading the tree it should.
  EXPECT_GE(total_launches, 8) << "found only " << total_launches << " launches under " << root;
}

}  // namespace
