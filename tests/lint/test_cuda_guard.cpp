// Outside kernels/cuda, engine/cuda and the dispatch header (engine/dispatch.h), no code
// tests HL_HAVE_CUDA itself (DESIGN section 2, issue 13): an op reaches its device's
// kernel through engine/dispatch.h, and what exists only with CUDA is chosen by CMake
// (engine/cuda vs engine/no_cuda, nets/cnn_backend_cuda.cpp vs nets/no_cuda/). The
// scanner flags every preprocessor line naming HL_HAVE_CUDA in the source tree
// (hl::test::source_dir(): HL_SOURCE_DIR, set by ctest, or the tree it was built from), and is tested on
// small snippets so that a broken scanner cannot pass silently.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "lint/source_files.h"
#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;

// Where HL_HAVE_CUDA may be tested: the CUDA code itself and the one dispatch header.
bool guard_allowed(const std::string& relative_path) {
  return relative_path.rfind("kernels/cuda/", 0) == 0 || relative_path.rfind("engine/cuda/", 0) == 0 ||
         relative_path == "engine/dispatch.h";
}

// 1-based lines of `text` that are preprocessor directives naming HL_HAVE_CUDA.
std::vector<int> guard_lines(const std::string& text) {
  std::vector<int> lines;
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    const size_t first = line.find_first_not_of(" \t");
    if (first != std::string::npos && line[first] == '#' && line.find("HL_HAVE_CUDA") != std::string::npos)
      lines.push_back(n);
  }
  return lines;
}

TEST(CudaGuardLint, ScannerFindsDirectivesOnly) {
  const std::string guarded = std::string("#include <x>\n  #ifdef ") + "HL_HAVE_CUDA\nint a;\n#endif\n";
  EXPECT_EQ(guard_lines(guarded), std::vector<int>{2});
  const std::string spelled = std::string("#if defined(") + "HL_HAVE_CUDA) && X\n";
  EXPECT_EQ(guard_lines(spelled), std::vector<int>{1});
  // Code and comments that only mention the name are not a guard.
  const std::string mention = std::string("// tested only where ") + "HL_HAVE_CUDA is allowed\nint b;\n";
  EXPECT_TRUE(guard_lines(mention).empty());
}

TEST(CudaGuardLint, AllowedPlaces) {
  EXPECT_TRUE(guard_allowed("kernels/cuda/stream.h"));
  EXPECT_TRUE(guard_allowed("engine/cuda/backend.cpp"));
  EXPECT_TRUE(guard_allowed("engine/dispatch.h"));
  EXPECT_FALSE(guard_allowed("engine/dispatch.cpp"));
  EXPECT_FALSE(guard_allowed("engine/autograd/softmax.cpp"));
  EXPECT_FALSE(guard_allowed("nets/mfcc.cpp"));
  EXPECT_FALSE(guard_allowed("kernels/cpu/gemm.cpp"));
}

TEST(CudaGuardLint, NoGuardOutsideTheCudaCodeAndTheDispatchHeader) {
  const fs::path root = hl::test::source_dir();
  ASSERT_TRUE(fs::exists(root / "engine" / "dispatch.h")) << "not the hl source tree: " << root;
  const std::vector<hl::lint::SourceFile> files =
      hl::lint::read_sources(root, {"kernels", "engine", "weights", "nets", "pipeline", "tools", "tests", "bench"});
  EXPECT_GT(files.size(), 100u) << "too few sources under " << root;
  for (const hl::lint::SourceFile& f : files) {
    if (guard_allowed(f.path)) continue;
    for (int line : guard_lines(f.text))
      ADD_FAILURE() << f.path << ":" << line << ": tests HL_HAVE_CUDA (dispatch through engine/dispatch.h)";
  }
}

}  // namespace
