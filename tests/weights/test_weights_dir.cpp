// The weights-folder rule: --weights, then $HL_WEIGHTS, then the per-user data folder.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "engine/error.h"
#include "support/test_support.h"
#include "weights/weights_dir.h"

namespace hl {
namespace {

class WeightsDir : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"HL_WEIGHTS", "XDG_DATA_HOME", "HOME"}) {
      const char* s = std::getenv(v);
      saved_.emplace_back(v, s ? std::optional<std::string>(s) : std::nullopt);
    }
  }
  void TearDown() override {
    for (auto& [k, v] : saved_) v ? setenv(k, v->c_str(), 1) : unsetenv(k);
  }
  std::vector<std::pair<const char*, std::optional<std::string>>> saved_;
};

TEST_F(WeightsDir, PrecedenceOfTheThreeSources) {
  setenv("HOME", "/home/u", 1);
  unsetenv("XDG_DATA_HOME");
  unsetenv("HL_WEIGHTS");
  EXPECT_EQ(weights_dir(), "/home/u/.local/share/hl/weights");
  setenv("XDG_DATA_HOME", "/data", 1);
  EXPECT_EQ(weights_dir(), "/data/hl/weights");
  setenv("HL_WEIGHTS", "/w", 1);
  EXPECT_EQ(weights_dir(), "/w");
  EXPECT_EQ(weights_dir("/explicit"), "/explicit");
}

TEST_F(WeightsDir, MissingFileNamesPathAndCommand) {
  test::TempDir dir;
  try {
    require_weights_file("googlenet.safetensors", "hl-convert googlenet FILE", dir.path().string());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(dir.file("googlenet.safetensors")), std::string::npos) << msg;
    EXPECT_NE(msg.find("hl-convert googlenet FILE"), std::string::npos) << msg;
  }
  std::ofstream(dir.file("googlenet.safetensors")) << "x";
  EXPECT_EQ(require_weights_file("googlenet.safetensors", "", dir.path().string()), dir.path() / "googlenet.safetensors");
}

}  // namespace
}  // namespace hl
