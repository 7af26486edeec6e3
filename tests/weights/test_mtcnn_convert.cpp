// hl-convert mtcnn run as a user runs it (HL_CONVERT_PATH) on facenet-pytorch's published
// files (tests/golden/mtcnn_hostile.py copies them out of the installed package and
// builds a wheel-like zip and hostile variants): the folder and the zip give the same
// tensors, every published tensor arrives with its values (sums computed by torch; a
// sum does not depend on the layout change) and the layout's shape; the published wheel
// itself (kept by tools/setup.sh, checked against PyPI's SHA-256) gives the same; and
// every hostile input is a clear error naming the file and the problem, exit code 1, no
// output file.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "engine/safetensors.h"
#include "engine/sha256.h"
#include "support/test_support.h"

namespace hl {
namespace {

namespace fs = std::filesystem;

class MtcnnConvert : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    ASSERT_EQ(test::run_golden_script("mtcnn_hostile.py", {dir_->path().string()}), 0)
        << "tests/golden/mtcnn_hostile.py failed (is facenet-pytorch installed in $HL_PYTHON's environment? "
           "tools/setup.sh installs it)";
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string in(const std::string& name) { return dir_->file(name); }
  static test::CommandResult convert(const std::string& input, const std::string& out) {
    return test::run_command({HL_CONVERT_PATH, "mtcnn", in(input), "-o", out});
  }
  static inline test::TempDir* dir_ = nullptr;
};

bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::map<std::string, Tensor> tensors_of(const std::string& path) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  std::map<std::string, Tensor> r;
  for (const std::string& name : file.names()) r.emplace(name, file.get(name).clone());
  return r;
}

TEST_F(MtcnnConvert, FolderAndWheelGiveThePublishedTensors) {
  const std::string from_dir = dir_->file("from_dir.safetensors"), from_wheel = dir_->file("from_wheel.safetensors");
  auto r = convert("good", from_dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = convert("good.whl", from_wheel);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto a = tensors_of(from_dir), b = tensors_of(from_wheel);
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, t] : a) {
    ASSERT_TRUE(b.count(name)) << name;
    ASSERT_EQ(t.shape(), b.at(name).shape()) << name;
    for (int64_t i = 0; i < t.numel(); ++i) ASSERT_EQ(t.data<float>()[i], b.at(name).data<float>()[i]) << name;
  }
  const auto reference = nlohmann::json::parse(test::read_file(dir_->file("reference.json")));
  ASSERT_EQ(reference.size(), a.size());
  for (const auto& ref : reference) {
    const std::string name = ref["name"];
    ASSERT_TRUE(a.count(name)) << name;
    const Tensor& t = a.at(name);
    // Ours: convs HWIO (theirs OIHW), dense [in, out] (theirs [out, in]).
    std::vector<int64_t> shape = ref["shape"];
    if (shape.size() == 4) shape = {shape[2], shape[3], shape[1], shape[0]};
    if (shape.size() == 2) shape = {shape[1], shape[0]};
    EXPECT_EQ(t.shape(), Shape(shape)) << name;
    double sum = 0;
    for (int64_t i = 0; i < t.numel(); ++i) sum += t.data<float>()[i];
    EXPECT_NEAR(sum, ref["sum"].get<double>(), 1e-9 * (1 + std::abs(ref["sum"].get<double>()))) << name;
  }
  EXPECT_EQ(SafetensorsFile::open(from_wheel).metadata().at("hl.net"), "mtcnn");
}

TEST_F(MtcnnConvert, ThePublishedWheelGivesTheInstalledPackagesTensors) {
  // tools/setup.sh keeps the wheel it installed facenet-pytorch from in .venv/wheels.
  const fs::path wheel = test::source_dir() / ".venv" / "wheels" / "facenet_pytorch-2.6.0-py3-none-any.whl";
  if (!fs::exists(wheel)) GTEST_SKIP() << wheel << " is missing (tools/setup.sh downloads it)";
  // PyPI's SHA-256 of facenet_pytorch-2.6.0-py3-none-any.whl.
  EXPECT_EQ(sha256_file(wheel.string()), "ecb82b27beb226d106f2219efe8f829b01b87a8595badd01545679bdb9f19cca");
  const std::string from_wheel = dir_->file("published.safetensors"), from_dir = dir_->file("installed.safetensors");
  auto r = test::run_command({HL_CONVERT_PATH, "mtcnn", wheel.string(), "-o", from_wheel});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = convert("good", from_dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto a = tensors_of(from_wheel), b = tensors_of(from_dir);
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, t] : a) {
    ASSERT_TRUE(b.count(name)) << name;
    ASSERT_EQ(t.shape(), b.at(name).shape()) << name;
    for (int64_t i = 0; i < t.numel(); ++i) ASSERT_EQ(t.data<float>()[i], b.at(name).data<float>()[i]) << name;
  }
  const auto meta = SafetensorsFile::open(from_wheel).metadata();
  EXPECT_EQ(meta.at("hl.source_format"), "wheel");
  EXPECT_EQ(meta.at("hl.source_sha256"), sha256_file(wheel.string()));
}

TEST_F(MtcnnConvert, HostileInputsAreClearErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not_a_zip.whl", "not a readable zip archive"},
      {"no_weights.whl", "has no facenet_pytorch/data/pnet.pt"},
      {"truncated.whl", "not a readable zip archive"},
      {"bad_crc.whl", "facenet_pytorch/data/pnet.pt: cannot read the entry"},
      {"size_lie.whl", "facenet_pytorch/data/pnet.pt: 1001 bytes inflated, the archive says 1000"},
      {"garbage_pt.whl", "facenet_pytorch/data/pnet.pt: not a PyTorch file"},
      {"oversized.whl", "facenet_pytorch/data/pnet.pt: 83886080 bytes, more than the 67108864"},
      {"wrong_shape", "pnet.conv1.weight is [3, 10, 3, 3], expected [10, 3, 3, 3]"},
      {"missing_key", "rnet.prelu4.weight is missing"},
      {"extra_key", "onet.dense7.weight is not part of facenet-pytorch's onet"},
      {"int_weights", "pnet.conv2.bias is I64, expected a float type"},
      {"missing_file", "has no onet.pt"},
  };
  for (const auto& [input, message] : cases) {
    const std::string out = dir_->file("out_" + input + ".safetensors");
    const auto r = convert(input, out);
    EXPECT_EQ(r.exit_code, 1) << input << ": " << r.err;
    EXPECT_TRUE(Contains(r.err, "hl-convert: error: " + in(input))) << input << ": " << r.err;
    EXPECT_TRUE(Contains(r.err, message)) << input << ": " << r.err;
    EXPECT_FALSE(fs::exists(out)) << input;
  }
}

TEST_F(MtcnnConvert, WhatDoesNotApplyIsRefused) {
  // A folder is for mtcnn only; --unfolded-batchnorm is not for mtcnn (no BatchNorm).
  auto r = test::run_command({HL_CONVERT_PATH, "googlenet", in("good"), "-o", dir_->file("g.safetensors")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.err, "a folder")) << r.err;
  const std::string out = dir_->file("u.safetensors");
  r = test::run_command({HL_CONVERT_PATH, "mtcnn", in("good"), "--unfolded-batchnorm", "-o", out});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.err, "MTCNN has no BatchNorm")) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
}  // namespace hl
