// Includes follow the layers (DESIGN section 2, issue 13): tools -> pipeline -> nets ->
// weights -> engine -> kernels. A file may include a repository header of its own layer
// or of a layer below it, never above (tests/ and bench/ may include anything). Every
// library exports the repository root as an include directory, so a wrong include
// would compile and link; this lint is what stops it. It scans every source file of the
// layers in the source tree (HL_SOURCE_DIR, set by ctest, or the tree this test was
// built from) and is tested on small snippets and on a made-up tree with known upward
// includes, so that a broken scanner cannot pass.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "lint/source_files.h"
#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kLayers = {"kernels", "engine", "weights", "nets", "pipeline", "tools"};  // bottom up

// The layer's rank (0 = kernels), or nothing for a path outside the layers.
std::optional<int> layer_of(const std::string& relative_path) {
  const std::string top = relative_path.substr(0, relative_path.find('/'));
  for (size_t i = 0; i < kLayers.size(); ++i)
    if (top == kLayers[i] && relative_path.size() > top.size()) return static_cast<int>(i);
  return std::nullopt;
}

struct Upward {
  int line;
  std::string included;
};

// The `#include "..."` lines of `text` (a file of layer `rank`) that reach a higher layer.
std::vector<Upward> upward_includes(const std::string& text, int rank) {
  std::vector<Upward> found;
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    const size_t hash = line.find_first_not_of(" \t");
    if (hash == std::string::npos || line[hash] != '#') continue;
    const size_t inc = line.find("include", hash);
    if (inc == std::string::npos || line.find_first_not_of(" \t", hash + 1) != inc) continue;
    const size_t open = line.find('"', inc);
    const size_t close = open == std::string::npos ? open : line.find('"', open + 1);
    if (close == std::string::npos) continue;  // <system> headers
    const std::string path = line.substr(open + 1, close - open - 1);
    const std::optional<int> target = layer_of(path);
    if (target && *target > rank) found.push_back({n, path});
  }
  return found;
}

TEST(LayeringLint, LayersInOrder) {
  EXPECT_EQ(layer_of("kernels/common/half.h"), 0);
  EXPECT_EQ(layer_of("engine/tensor.h"), 1);
  EXPECT_EQ(layer_of("weights/torch_file.h"), 2);
  EXPECT_EQ(layer_of("nets/googlenet.h"), 3);
  EXPECT_EQ(layer_of("pipeline/trainer.h"), 4);
  EXPECT_EQ(layer_of("tools/cli_common.h"), 5);
  EXPECT_EQ(layer_of("tests/x.h"), std::nullopt);
  EXPECT_EQ(layer_of("enginex/y.h"), std::nullopt);
  EXPECT_EQ(layer_of("gtest/gtest.h"), std::nullopt);
}

TEST(LayeringLint, ScannerFindsUpwardIncludesOnly) {
  const std::string text =
      "#include <vector>\n"
      "#include \"engine/tensor.h\"\n"
      "#include \"nets/googlenet.h\"\n"        // line 3: up from engine
      "  #  include \"pipeline/trainer.h\"\n"  // line 4: up, odd spacing
      "// #include \"tools/x.h\"\n"            // a comment, not an include
      "#include \"kernels/cpu/gemm.h\"\n";
  const std::vector<Upward> up = upward_includes(text, /*engine*/ 1);
  ASSERT_EQ(up.size(), 2u);
  EXPECT_EQ(up[0].line, 3);
  EXPECT_EQ(up[0].included, "nets/googlenet.h");
  EXPECT_EQ(up[1].line, 4);
  EXPECT_TRUE(upward_includes(text, /*tools*/ 5).empty());
  EXPECT_EQ(upward_includes("#include \"engine/ops.h\"\n", /*kernels*/ 0).size(), 1u);
}

// Every upward include of the layers' sources under `root`, one message each naming the
// file, the line and the include; `scanned` counts the files read.
std::vector<std::string> layering_violations(const fs::path& root, int& scanned) {
  std::vector<std::string> found;
  const std::vector<hl::lint::SourceFile> files = hl::lint::read_sources(root, kLayers);
  scanned = static_cast<int>(files.size());
  for (const hl::lint::SourceFile& f : files)
    for (const Upward& u : upward_includes(f.text, *layer_of(f.path)))
      found.push_back(f.path + ":" + std::to_string(u.line) + ": includes " + u.included + ", a layer above " +
                      f.path.substr(0, f.path.find('/')) + " (tools -> pipeline -> nets -> weights -> engine -> kernels)");
  std::sort(found.begin(), found.end());
  return found;
}

// The whole lint on a made-up tree with known upward includes, so that the walk, the
// layer of a path and the message are tested too, not only the line scanner.
TEST(LayeringLint, FailsOnASyntheticTreeWithUpwardIncludes) {
  hl::test::TempDir dir;
  auto write = [&](const std::string& rel, const std::string& text) {
    fs::create_directories((dir.path() / rel).parent_path());
    std::ofstream(dir.path() / rel) << text;
  };
  write("engine/ops.cpp", "#include \"engine/ops.h\"\n#include \"nets/googlenet.h\"\n");
  write("kernels/common/half.h", "#pragma once\n\n#include \"engine/tensor.h\"\n");  // kernels/common is kernels
  write("nets/vasnet.cpp", "#include \"weights/npy.h\"\n#include \"kernels/cpu/gemm.h\"\n");  // down: fine
  write("pipeline/trainer.cpp", "#include \"tools/cli_common.h\"\n");
  write("tools/hl_train.cpp", "#include \"pipeline/trainer.h\"\n");
  write("tests/test_x.cpp", "#include \"tools/cli_common.h\"\n");  // tests may include anything
  write("bench/bench_x.cpp", "#include \"pipeline/trainer.h\"\n");  // so may benchmarks
  int scanned = 0;
  const std::vector<std::string> found = layering_violations(dir.path(), scanned);
  EXPECT_EQ(scanned, 5);
  const std::string tail = " (tools -> pipeline -> nets -> weights -> engine -> kernels)";
  EXPECT_EQ(found, (std::vector<std::string>{
                       "engine/ops.cpp:2: includes nets/googlenet.h, a layer above engine" + tail,
                       "kernels/common/half.h:3: includes engine/tensor.h, a layer above kernels" + tail,
                       "pipeline/trainer.cpp:1: includes tools/cli_common.h, a layer above pipeline" + tail,
                   }));
}

TEST(LayeringLint, NoIncludeReachesAHigherLayer) {
  const fs::path root = hl::test::source_dir();
  ASSERT_TRUE(fs::exists(root / "engine" / "tensor.h")) << "not the hl source tree: " << root;
  int scanned = 0;
  for (const std::string& v : layering_violations(root, scanned)) ADD_FAILURE() << v;
  EXPECT_GT(scanned, 100) << "too few sources under " << root;
}

}  // namespace
