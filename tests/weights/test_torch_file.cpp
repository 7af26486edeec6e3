// read_torch_file against torch.load on files torch.save wrote (tests/golden/torch_save_ref.py):
// a module's state dict in the zip and the legacy format (f32, f16, bf16, f64, bool, int8,
// int16, int32, uint8, int64 tensors; a transposed view sharing its storage with the
// tensor it views; narrows with storage offsets and strides; 0-d, empty and 5-d tensors),
// Places365-style checkpoints {'epoch', 'arch', 'state_dict' with 'module.' names,
// 'best_prec1'} in both formats, a checkpoint with non-tensor entries of many Python types,
// and a Python 2 legacy file written opcode by opcode that torch.load itself reads.
// Every tensor must have torch's dtype (after the documented conversions), shape and
// exactly its bytes; names in file order; `other` as Python's repr gives it.
#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "engine/safetensors.h"
#include "support/test_support.h"
#include "weights/torch_file.h"
#include "weights/torch_zip.h"

namespace hl {
namespace {

using nlohmann::json;

class TorchFileGolden : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir;
    ASSERT_EQ(test::run_golden_script("torch_save_ref.py", {dir_->path().string()}), 0)
        << "tests/golden/torch_save_ref.py failed (are torch and safetensors importable by $HL_PYTHON?)";
    manifest_ = new json(json::parse(test::read_file(dir_->file("manifest.json"))));
  }
  void SetUp() override { ASSERT_NE(manifest_, nullptr) << "the golden script failed"; }
  static void TearDownTestSuite() {
    delete manifest_;
    delete dir_;
  }
  static const json& entry(const std::string& file) {
    for (const json& f : (*manifest_)["files"])
      if (f["file"] == file) return f;
    throw std::runtime_error("no " + file + " in the manifest");
  }
  // Reads `file` with our reader and compares everything with torch.load's view of it.
  static void check_file(const std::string& file) {
    SCOPED_TRACE(file);
    const json& want = entry(file);
    if (want["format"] == "zip" && !torch_zip::available()) GTEST_SKIP() << "this build has no libzip";
    const TorchFile got = read_torch_file(dir_->file(file));
    EXPECT_EQ(got.path, dir_->file(file));
    EXPECT_EQ(got.format, want["format"].get<std::string>());
    const auto ref = SafetensorsFile::open(dir_->file(want["expected"]));
    std::vector<std::string> names;
    for (const auto& [name, t] : got.tensors) names.push_back(name);
    EXPECT_EQ(names, want["names"].get<std::vector<std::string>>());
    for (const auto& [name, t] : got.tensors) {
      SCOPED_TRACE(name);
      ASSERT_TRUE(ref.contains(name));
      const Tensor r = ref.get(name);
      EXPECT_EQ(t.dtype(), r.dtype()) << dtype_name(t.dtype()) << " vs " << dtype_name(r.dtype());
      EXPECT_EQ(t.shape(), r.shape()) << t.shape().str() << " vs " << r.shape().str();
      EXPECT_TRUE(t.device().is_cpu());
      ASSERT_EQ(t.nbytes(), r.nbytes());
      EXPECT_EQ(std::memcmp(t.raw(), r.raw(), r.nbytes()), 0) << "bytes differ from torch.load's";
    }
    EXPECT_EQ(got.other, (want["other"].get<std::map<std::string, std::string>>()));
  }
  static test::TempDir* dir_;
  static json* manifest_;
};
test::TempDir* TorchFileGolden::dir_ = nullptr;
json* TorchFileGolden::manifest_ = nullptr;

TEST_F(TorchFileGolden, ZipStateDictMatchesTorchLoad) { check_file("model_zip.pth"); }
TEST_F(TorchFileGolden, LegacyStateDictMatchesTorchLoad) { check_file("model_legacy.pth"); }
TEST_F(TorchFileGolden, Places365LegacyCheckpoint) { check_file("places365_legacy.pth.tar"); }
TEST_F(TorchFileGolden, Places365ZipCheckpoint) { check_file("places365_zip.pth.tar"); }
TEST_F(TorchFileGolden, NonTensorEntriesAsPythonText) { check_file("misc_zip.pth"); }
TEST_F(TorchFileGolden, Python2LegacyFileThatTorchLoads) { check_file("py2_legacy.pth"); }

TEST_F(TorchFileGolden, Places365NamesAndMetadata) {
  const TorchFile f = read_torch_file(dir_->file("places365_legacy.pth.tar"));
  ASSERT_FALSE(f.tensors.empty());
  for (const auto& [name, t] : f.tensors) EXPECT_EQ(name.rfind("module.", 0), 0u) << name;
  EXPECT_EQ(f.other.at("epoch"), "90");
  EXPECT_EQ(f.other.at("arch"), "resnet50");
  EXPECT_EQ(f.other.at("best_prec1"), "54.7");
  EXPECT_EQ(f.other.size(), 3u);
}

TEST_F(TorchFileGolden, TensorsAreOwningAndWritable) {
  if (!torch_zip::available()) GTEST_SKIP() << "this build has no libzip";
  // Two tensors that share one storage in the file must not share memory here.
  TorchFile f = read_torch_file(dir_->file("model_zip.pth"));
  Tensor* base = nullptr;
  Tensor* base_t = nullptr;
  for (auto& [name, t] : f.tensors) {
    EXPECT_NO_THROW(t.raw()) << name << " is read-only";
    if (name == "extra.base") base = &t;
    if (name == "extra.base_t") base_t = &t;
  }
  ASSERT_TRUE(base && base_t);
  const float before = base_t->data<float>()[0];
  base->data<float>()[0] = before + 1.0f;
  EXPECT_EQ(base_t->data<float>()[0], before);
}

TEST_F(TorchFileGolden, DetectsTorchFiles) {
  if (!torch_zip::available()) GTEST_SKIP() << "this build has no libzip";
  EXPECT_TRUE(looks_like_torch_file(dir_->file("model_zip.pth")));
  EXPECT_TRUE(looks_like_torch_file(dir_->file("places365_legacy.pth.tar")));
  // By content, whatever the name.
  const auto zip = test::read_file(dir_->file("model_zip.pth"));
  const auto legacy = test::read_file(dir_->file("model_legacy.pth"));
  test::write_file(dir_->file("zip.weights"), zip);
  test::write_file(dir_->file("legacy.weights"), legacy);
  EXPECT_TRUE(looks_like_torch_file(dir_->file("zip.weights")));
  EXPECT_TRUE(looks_like_torch_file(dir_->file("legacy.weights")));
  EXPECT_EQ(read_torch_file(dir_->file("zip.weights")).tensors.size(), entry("model_zip.pth")["names"].size());
  EXPECT_FALSE(looks_like_torch_file(dir_->file("model_zip.pth.expected.safetensors")));
  EXPECT_FALSE(looks_like_torch_file(dir_->file("no-such-file")));
}

}  // namespace
}  // namespace hl
