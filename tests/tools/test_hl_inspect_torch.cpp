// hl-inspect on PyTorch torch.save files, run as a user runs it (HL_INSPECT_PATH), on the
// seed corpus files of tests/fuzz/corpus/torch (written by torch.save through
// tests/fuzz/make_seed_corpus.py): the format ("torch-zip", "torch-legacy"), the
// checkpoint's non-tensor entries as metadata, every tensor with its statistics (expected
// values worked out here from how the files were made), and the error for a bad file.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "support/test_support.h"
#include "weights/torch_zip.h"

namespace hl {
namespace {

std::string corpus(const std::string& name) {
  return (test::source_dir() / "tests" / "fuzz" / "corpus" / "torch" / name).string();
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(HlInspectTorch, ZipFileAsJson) {
  if (!torch_zip::available()) GTEST_SKIP() << "this build has no libzip";
  // valid_zip.pth: w = arange(6).reshape(2, 3) (f32), b = [1.5] (f16), n = 3 (0-d int64),
  // wt = w.t() (a view of w's storage, read as its own contiguous [3, 2]).
  const auto r = test::run_command({HL_INSPECT_PATH, "--json", corpus("valid_zip.pth")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["file"], corpus("valid_zip.pth"));
  EXPECT_EQ(j["format"], "torch-zip");
  EXPECT_TRUE(j["metadata"].empty());
  const auto& t = j["tensors"];
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(t[0]["name"], "w");
  EXPECT_EQ(t[0]["dtype"], "F32");
  EXPECT_EQ(t[0]["shape"], nlohmann::json({2, 3}));
  EXPECT_EQ(t[0]["min"], 0.0);
  EXPECT_EQ(t[0]["max"], 5.0);
  EXPECT_EQ(t[0]["mean"], 2.5);
  EXPECT_EQ(t[1]["name"], "b");
  EXPECT_EQ(t[1]["dtype"], "F16");
  EXPECT_EQ(t[1]["mean"], 1.5);
  EXPECT_EQ(t[2]["name"], "n");
  EXPECT_EQ(t[2]["dtype"], "I64");
  EXPECT_EQ(t[2]["shape"], nlohmann::json::array());
  EXPECT_EQ(t[2]["max"], 3);
  EXPECT_EQ(t[3]["name"], "wt");
  EXPECT_EQ(t[3]["shape"], nlohmann::json({3, 2}));
  EXPECT_EQ(t[3]["mean"], 2.5);
}

TEST(HlInspectTorch, Places365CheckpointAsTable) {
  // valid_places365_legacy.pth.tar: {'epoch': 90, 'arch': 'resnet50', 'best_prec1': 54.7,
  // 'state_dict': {'module.fc.weight': ones(2, 2)}} in the legacy format.
  const std::string file = corpus("valid_places365_legacy.pth.tar");
  const auto r = test::run_command({HL_INSPECT_PATH, file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto size = std::filesystem::file_size(file);
  EXPECT_TRUE(contains(r.out, file + ": torch-legacy, 1 tensor, " + std::to_string(size) + " bytes\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "metadata:\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "  arch        resnet50\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "  best_prec1  54.7\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "  epoch       90\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "module.fc.weight  F32    [2, 2]    1    1     1\n")) << r.out;
}

TEST(HlInspectTorch, BadTorchFileIsNamedAndOthersStillShown) {
  const std::string bad = corpus("bad_os_system.pth"), good = corpus("valid_py2_legacy.pth");
  const auto r = test::run_command({HL_INSPECT_PATH, bad, good});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "hl-inspect: error: " + bad + ": legacy object: GLOBAL 'os.system' is not allowed"))
      << r.err;
  EXPECT_TRUE(contains(r.out, good + ": torch-legacy, 4 tensors")) << r.out;
  // Detected by content too: a zip-format file under another name.
  if (!torch_zip::available()) GTEST_SKIP() << "this build has no libzip";
  test::TempDir dir;
  const std::string renamed = dir.file("weights.data");
  test::write_file(renamed, test::read_file(corpus("valid_zip64.pth")));
  const auto z = test::run_command({HL_INSPECT_PATH, renamed});
  EXPECT_EQ(z.exit_code, 0) << z.err;
  EXPECT_TRUE(contains(z.out, renamed + ": torch-zip, 4 tensors")) << z.out;
}

}  // namespace
}  // namespace hl
