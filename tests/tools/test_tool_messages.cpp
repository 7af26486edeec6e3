// Plain messages from hl-train and hl-inspect for inputs that used to give confusing
// ones (issue 18): --k 0 (the range of a double, 309 digits), a file-system refusal (an
// "unexpected failure" with the library's text), negative labels, and a directory given
// to hl-inspect ("unknown file format").
#include <gtest/gtest.h>

#include "support/test_support.h"

namespace hl {
namespace {

using test::run_command;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

class ToolMessages : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    data_ = new test::TempDir();
    const auto r = run_command({HL_SYNTH_PATH, "--out", data_->path().string(), "--videos", "3", "--seconds", "20,20",
                                "--features", "affect"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() {
    delete data_;
    data_ = nullptr;
  }
  static std::string features() { return data_->file("features"); }
  static std::string labels() { return data_->file("labels.csv"); }
  static inline test::TempDir* data_ = nullptr;
  test::TempDir dir;
};

TEST_F(ToolMessages, TrainKZeroIsAPlainUsageError) {
  const auto r = run_command({HL_TRAIN_PATH, "--features", features(), "--labels", labels(), "--out", dir.file("o"),
                              "--use", "affect", "--k", "0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "--k: '0' is not a whole number from 1 to 1000000")) << r.err;
  EXPECT_LT(r.err.size(), 200u) << r.err;
}

TEST_F(ToolMessages, TrainNamesThePathAFileSystemErrorIsAbout) {
  // --out under a regular file: creating the folder fails with ENOTDIR.
  test::write_file(dir.file("plain"), std::string("x"));
  const std::string out = dir.file("plain") + "/run";
  const auto r = run_command({HL_TRAIN_PATH, "--features", features(), "--labels", labels(), "--out", out,
                              "--use", "affect", "--folds", "3", "--epochs", "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "hl-train: error: " + out + ": cannot create directories: Not a directory")) << r.err;
  EXPECT_FALSE(contains(r.err, "unexpected failure")) << r.err;
}

TEST_F(ToolMessages, TrainRefusesNegativeLabelsWithTheRow) {
  test::write_file(dir.file("neg.csv"), std::string("video,segment,score\nv,0,1\nv,1,-3\n"));
  const auto r = run_command({HL_TRAIN_PATH, "--features", features(), "--labels", dir.file("neg.csv"), "--out",
                              dir.file("o"), "--use", "affect"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, dir.file("neg.csv") + ":3: column 'score': the label -3 is negative")) << r.err;
}

TEST_F(ToolMessages, InspectSaysADirectoryIsADirectory) {
  const auto r = run_command({HL_INSPECT_PATH, features()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "hl-inspect: error: " + features() + ": is a directory; give the files inside it"))
      << r.err;
  EXPECT_FALSE(contains(r.err, "unknown file format")) << r.err;
}

}  // namespace
}  // namespace hl
