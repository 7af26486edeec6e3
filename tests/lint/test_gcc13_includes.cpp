// GCC 13's libstdc++ (the GPU machine may have it) no longer includes <cstdint> and
// <cstdio> from its other headers (GCC 13 porting notes, "Header dependency changes"), so
// a file that uses int64_t or std::printf and leans on <string> or <memory> to bring them
// along builds here with GCC 12 and breaks there. This lint asks, for every C++ and CUDA
// source of hl, that a file using those names includes <cstdint> / <cstdio> itself or
// through hl's own headers (which it follows; standard and third-party headers do not
// count). tools/check-headers.sh (clang with libc++) checks the rest of "each header
// includes what it uses", but libc++'s <string> still brings <cstdint>, so it cannot
// catch this. Tested on snippets and on a made-up tree, so that a broken scanner cannot pass.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "lint/source_files.h"
#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;

// A standard header and the names that need it, and the headers that count as including it.
struct NeededHeader {
  std::string header;
  std::set<std::string> satisfied_by;
  std::set<std::string> names;
};

const std::vector<NeededHeader>& needed_headers() {
  static const std::vector<NeededHeader> kNeeded = {
      {"cstdint",
       {"cstdint", "stdint.h", "cinttypes", "inttypes.h"},
       {"int8_t",        "int16_t",       "int32_t",       "int64_t",       "uint8_t",        "uint16_t",
        "uint32_t",      "uint64_t",      "intptr_t",      "uintptr_t",     "intmax_t",       "uintmax_t",
        "int_least8_t",  "int_least16_t", "int_least32_t", "int_least64_t", "uint_least8_t",  "uint_least16_t",
        "uint_least32_t", "uint_least64_t", "int_fast8_t",  "int_fast16_t",  "int_fast32_t",   "int_fast64_t",
        "uint_fast8_t",  "uint_fast16_t", "uint_fast32_t", "uint_fast64_t", "INT8_MIN",       "INT8_MAX",
        "INT16_MIN",     "INT16_MAX",     "INT32_MIN",     "INT32_MAX",     "INT64_MIN",      "INT64_MAX",
        "UINT8_MAX",     "UINT16_MAX",    "UINT32_MAX",    "UINT64_MAX",    "INTPTR_MAX",     "UINTPTR_MAX",
        "SIZE_MAX",      "PTRDIFF_MAX"}},
      {"cstdio",
       {"cstdio", "stdio.h"},
       {"printf", "fprintf", "sprintf", "snprintf", "vsnprintf", "vfprintf", "fopen", "fclose", "fflush", "fputs",
        "fputc", "fgets", "fgetc", "fwrite", "fread", "fseek", "ftell", "puts", "putchar", "perror", "FILE", "stdin",
        "stdout", "stderr", "popen", "pclose", "fileno", "tmpfile", "setvbuf"}},
  };
  return kNeeded;
}

// `text` with comments, string and character literals (raw strings too) blanked, newlines
// kept so that line numbers stay right: names inside them are not uses.
std::string code_only(const std::string& text) {
  std::string out = text;
  auto blank = [&](size_t from, size_t to) {  // [from, to)
    for (size_t k = from; k < to && k < out.size(); ++k)
      if (out[k] != '\n') out[k] = ' ';
  };
  auto ident = [&](size_t k) { return std::isalnum(static_cast<unsigned char>(text[k])) || text[k] == '_'; };
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i], next = i + 1 < text.size() ? text[i + 1] : '\0';
    size_t end = i + 1;
    if (c == '/' && next == '/') {
      end = std::min(text.find('\n', i), text.size());
    } else if (c == '/' && next == '*') {
      const size_t close = text.find("*/", i + 2);
      end = close == std::string::npos ? text.size() : close + 2;
    } else if (c == '"' && i > 0 && text[i - 1] == 'R' && !(i > 1 && ident(i - 2) && text[i - 2] != '8' &&
                                                            text[i - 2] != 'u' && text[i - 2] != 'U' && text[i - 2] != 'L')) {
      // R"delim( ... )delim"
      const size_t paren = text.find('(', i);
      const std::string close = ")" + text.substr(i + 1, paren == std::string::npos ? 0 : paren - i - 1) + "\"";
      const size_t at = paren == std::string::npos ? std::string::npos : text.find(close, paren);
      end = at == std::string::npos ? text.size() : at + close.size();
    } else if (c == '"' || (c == '\'' && !(i > 0 && std::isxdigit(static_cast<unsigned char>(text[i - 1]))))) {
      // A string or character literal (a ' after a hex digit is a digit separator: 1'000).
      size_t k = i + 1;
      while (k < text.size() && text[k] != c && text[k] != '\n') k += text[k] == '\\' ? 2 : 1;
      end = std::min(k + 1, text.size());
    } else {
      ++i;
      continue;
    }
    blank(i, end);
    i = end;
  }
  return out;
}

struct Include {
  bool angled;       // <header> rather than "header"
  std::string name;  // as written
};

// The #include lines of `text` (comments already removed by code_only are not seen;
// the names inside the quotes are read from the original text).
std::vector<Include> includes_of(const std::string& text) {
  std::vector<Include> found;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t end = std::min(text.find('\n', pos), text.size());
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    const size_t hash = line.find_first_not_of(" \t");
    if (hash == std::string::npos || line[hash] != '#') continue;
    const size_t inc = line.find_first_not_of(" \t", hash + 1);
    if (inc == std::string::npos || line.compare(inc, 7, "include") != 0) continue;
    const size_t open = line.find_first_of("<\"", inc + 7);
    if (open == std::string::npos) continue;
    const size_t close = line.find(line[open] == '<' ? '>' : '"', open + 1);
    if (close == std::string::npos) continue;
    found.push_back({line[open] == '<', line.substr(open + 1, close - open - 1)});
  }
  return found;
}

struct Use {
  std::string name;
  int line;
};

// The first use in `code` (code_only's output) of each name in `names`; a name after
// '.' or "->" is a member, not the standard one.
std::vector<Use> uses_of(const std::string& code, const std::set<std::string>& names) {
  std::map<std::string, int> first;
  int line = 1;
  for (size_t i = 0; i < code.size();) {
    const char c = code[i];
    if (c == '\n') ++line;
    if (!(std::isalpha(static_cast<unsigned char>(c)) || c == '_')) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < code.size() && (std::isalnum(static_cast<unsigned char>(code[j])) || code[j] == '_')) ++j;
    size_t before = code.find_last_not_of(" \t", i == 0 ? std::string::npos : i - 1);
    const bool member = i > 0 && before != std::string::npos &&
                        (code[before] == '.' || (code[before] == '>' && before > 0 && code[before - 1] == '-'));
    const std::string word = code.substr(i, j - i);
    if (!member && names.count(word) && !first.count(word)) first[word] = line;
    i = j;
  }
  std::vector<Use> uses;
  for (const auto& [name, at] : first) uses.push_back({name, at});
  std::sort(uses.begin(), uses.end(), [](const Use& a, const Use& b) { return a.line < b.line; });
  return uses;
}

// The angled headers a file includes itself or through hl's own headers, followed
// transitively. A quoted include is looked up next to the file, then from the root and
// from tests/ (the include directories of hl's targets); one not found is ignored.
class IncludeClosure {
 public:
  explicit IncludeClosure(const std::vector<hl::lint::SourceFile>& files) {
    for (const auto& f : files) text_[f.path] = &f.text;
  }

  std::set<std::string> angled(const std::string& path) const {
    std::set<std::string> out, seen;
    visit(path, seen, out);
    return out;
  }

 private:
  void visit(const std::string& path, std::set<std::string>& seen, std::set<std::string>& out) const {
    if (!seen.insert(path).second) return;
    const auto it = text_.find(path);
    if (it == text_.end()) return;
    for (const Include& inc : includes_of(code_only_keep_includes(*it->second))) {
      if (inc.angled) {
        out.insert(inc.name);
        continue;
      }
      const std::string here = fs::path(path).parent_path().generic_string();
      for (const std::string& candidate : {fs::path(here).append(inc.name).lexically_normal().generic_string(),
                                           fs::path(inc.name).lexically_normal().generic_string(),
                                           fs::path("tests").append(inc.name).lexically_normal().generic_string()}) {
        if (text_.count(candidate)) {
          visit(candidate, seen, out);
          break;
        }
      }
    }
  }

  // Comments removed but the text of #include lines kept (code_only blanks the quotes).
  static std::string code_only_keep_includes(const std::string& text) {
    const std::string code = code_only(text);
    std::string out;
    size_t pos = 0;
    while (pos < text.size()) {
      const size_t end = std::min(text.find('\n', pos), text.size());
      const std::string original = text.substr(pos, end - pos);
      const std::string blanked = code.substr(pos, end - pos);
      const size_t hash = blanked.find_first_not_of(" \t");
      // A line that is a directive in the code (not inside a comment) keeps its original text.
      out += (hash != std::string::npos && blanked[hash] == '#') ? original : blanked;
      out += '\n';
      pos = end + 1;
    }
    return out;
  }

  std::map<std::string, const std::string*> text_;
};

const std::vector<std::string> kFolders = {"kernels", "engine", "weights", "nets", "pipeline", "tools", "tests", "bench"};
// Files that break the rule on purpose (the fixtures of tools/check-headers.sh's test).
const std::string kFixtures = "tests/lint/header_fixtures/";

// One message per file and missing header, naming the file, the first use and its line.
std::vector<std::string> missing_includes(const fs::path& root, int& scanned) {
  std::vector<hl::lint::SourceFile> files = hl::lint::read_sources(root, kFolders);
  const IncludeClosure closure(files);
  std::vector<std::string> found;
  scanned = 0;
  for (const hl::lint::SourceFile& f : files) {
    if (f.path.rfind(kFixtures, 0) == 0) continue;
    ++scanned;
    const std::string code = code_only(f.text);
    std::set<std::string> reached;
    for (const NeededHeader& need : needed_headers()) {
      const std::vector<Use> uses = uses_of(code, need.names);
      if (uses.empty()) continue;
      if (reached.empty()) reached = closure.angled(f.path);
      const bool has = std::any_of(need.satisfied_by.begin(), need.satisfied_by.end(),
                                   [&](const std::string& h) { return reached.count(h) > 0; });
      if (!has)
        found.push_back(f.path + ":" + std::to_string(uses[0].line) + ": uses " + uses[0].name +
                        " but includes <" + need.header + "> neither itself nor through hl's headers " +
                        "(GCC 13's standard headers no longer bring it along)");
    }
  }
  std::sort(found.begin(), found.end());
  return found;
}

TEST(Gcc13IncludesLint, CodeOnlyBlanksCommentsAndLiterals) {
  const std::string code = code_only(
      "int64_t a; // uint8_t\n/* printf\n FILE */ x = \"stderr \\\" stdout\"; c = 'x'; n = 1'000;\n"
      "j = R\"js({\"fopen\": 1}\n)js\"; int32_t b;\n");
  const std::vector<Use> uses = uses_of(code, {"int64_t", "uint8_t", "printf", "FILE", "stderr", "stdout", "fopen", "int32_t"});
  ASSERT_EQ(uses.size(), 2u);
  EXPECT_EQ(uses[0].name, "int64_t");
  EXPECT_EQ(uses[1].name, "int32_t");
  EXPECT_EQ(uses[1].line, 5);  // lines kept
}

TEST(Gcc13IncludesLint, FindsUsesWithTheirLinesAndSkipsMembers) {
  const std::string code = code_only("#include <string>\nstd::string s;\nstd::uint64_t n = 0;\nopts.stdout = 1;\nstd::printf(\"x\");\n");
  const std::vector<Use> uses = uses_of(code, {"uint64_t", "stdout", "printf"});
  ASSERT_EQ(uses.size(), 2u);
  EXPECT_EQ(uses[0].name, "uint64_t");
  EXPECT_EQ(uses[0].line, 3);
  EXPECT_EQ(uses[1].name, "printf");
  EXPECT_EQ(uses[1].line, 5);
  EXPECT_TRUE(uses_of(code_only("int64_tx = my_int64_t;\n"), {"int64_t"}).empty());  // whole words only
}

TEST(Gcc13IncludesLint, ReadsIncludeLines) {
  const std::vector<Include> incs = includes_of("#include <cstdint>\n  #  include \"engine/x.h\"\nint a;\n#pragma once\n");
  ASSERT_EQ(incs.size(), 2u);
  EXPECT_TRUE(incs[0].angled);
  EXPECT_EQ(incs[0].name, "cstdint");
  EXPECT_FALSE(incs[1].angled);
  EXPECT_EQ(incs[1].name, "engine/x.h");
}

// The whole lint on a made-up tree: a missing <cstdint> and <cstdio>, an include that
// only a comment mentions, and the ways a file may have it (itself, through an hl header
// from the root, next to it or under tests/).
TEST(Gcc13IncludesLint, FailsOnASyntheticTreeWithMissingIncludes) {
  hl::test::TempDir dir;
  auto write = [&](const std::string& rel, const std::string& text) {
    fs::create_directories((dir.path() / rel).parent_path());
    std::ofstream(dir.path() / rel) << text;
  };
  write("engine/device.h", "#pragma once\n#include <string>\n\nenum class Kind : uint8_t { Cpu };\n");
  write("engine/ok_itself.h", "#pragma once\n#include <cstdint>\nint64_t f();\n");
  write("engine/ok_through.cpp", "#include \"engine/ok_itself.h\"\nint64_t f() { return 0; }\n");
  write("engine/ok_next_to.cpp", "#include \"ok_itself.h\"\nuint32_t g();\n");
  write("engine/commented.cpp", "// #include <cstdint>\n/* #include <cstdio> */\nint32_t h();\n");
  write("tests/support/s.h", "#pragma once\n#include <stdio.h>\n");
  write("tests/x/test_ok.cpp", "#include \"support/s.h\"\nvoid t() { std::printf(\"\"); }\n");
  write("tools/log.cpp", "#include <string>\nvoid l() { std::fprintf(stderr, \"x\"); }\n");
  write("tests/lint/header_fixtures/planted/p.h", "#pragma once\nint64_t p();\n");  // a fixture: skipped
  int scanned = 0;
  const std::vector<std::string> found = missing_includes(dir.path(), scanned);
  EXPECT_EQ(scanned, 8);
  const std::string tail = " neither itself nor through hl's headers (GCC 13's standard headers no longer bring it along)";
  EXPECT_EQ(found, (std::vector<std::string>{
                       "engine/commented.cpp:3: uses int32_t but includes <cstdint>" + tail,
                       "engine/device.h:4: uses uint8_t but includes <cstdint>" + tail,
                       "tools/log.cpp:2: uses fprintf but includes <cstdio>" + tail,
                   }));
}

TEST(Gcc13IncludesLint, EveryFileIncludesCstdintAndCstdioWhereItUsesThem) {
  const fs::path root = hl::test::source_dir();
  ASSERT_TRUE(fs::exists(root / "engine" / "tensor.h")) << "not the hl source tree: " << root;
  int scanned = 0;
  for (const std::string& m : missing_includes(root, scanned)) ADD_FAILURE() << m;
  EXPECT_GT(scanned, 300) << "too few sources under " << root;
}

}  // namespace
