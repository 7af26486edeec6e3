// hl-train --study split into array-job parts (tools/train_study.h): N shards run as
// separate processes into one OUT, then --collect, give the files of an unsharded study
// byte for byte (CPU); --collect before every part is done names the missing parts and
// writes no table; --shard auto takes the Slurm array's element; --shard without --study
// is refused.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace hl {
namespace {

namespace fs = std::filesystem;
using test::run_command;

// Every regular file under `root`: relative path -> bytes.
std::map<std::string, std::vector<uint8_t>> tree(const fs::path& root) {
  std::map<std::string, std::vector<uint8_t>> out;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file()) out[fs::relative(e.path(), root).string()] = test::read_file(e.path().string());
  return out;
}

class StudyShards : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    data_ = new test::TempDir();
    const auto r = run_command({HL_SYNTH_PATH, "--out", data_->path().string(), "--videos", "9", "--seconds", "30,45",
                                "--seed", "4", "--features", "affect,faces", "--strength", "affect=2,faces=1"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() {
    delete data_;
    data_ = nullptr;
  }
  // An ablation with two losses: 3 rows x 2 losses x 3 folds = 18 parts.
  static std::vector<std::string> study_args(const std::string& out) {
    return {HL_TRAIN_PATH, "--features", data_->file("features"), "--labels", data_->file("labels.csv"), "--out", out,
            "--use", "affect,faces", "--folds", "3", "--epochs", "2", "--batch", "16", "--seed", "9",
            "--study", "ablation", "--study-losses", "ccc,ranking"};
  }
  static std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
    args.insert(args.end(), more.begin(), more.end());
    return args;
  }
  static inline test::TempDir* data_ = nullptr;
  test::TempDir runs;
};

TEST_F(StudyShards, ShardsThenCollectEqualTheUnshardedStudy) {
  const std::string whole = runs.file("whole"), parts = runs.file("parts");
  auto r = run_command(study_args(whole));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // 4 shards of 18 parts (5, 5, 4, 4), one process each; the last one twice (a rerun
  // element resumes and changes nothing).
  for (const std::string shard : {"0/4", "1/4", "2/4", "3/4", "3/4"}) {
    r = run_command(with(study_args(parts), {"--shard", shard}));
    ASSERT_EQ(r.exit_code, 0) << shard << ": " << r.err;
    EXPECT_NE(r.out.find("trained " + std::string(shard[0] < '2' ? "5" : "4") + " of 18 study parts"),
              std::string::npos)
        << r.out;
  }
  EXPECT_FALSE(fs::exists(parts + "/study.md"));  // only --collect writes the table
  r = run_command(with(study_args(parts), {"--collect"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto want = tree(whole), got = tree(parts);
  ASSERT_GT(want.size(), 18u * 4);  // per part: model, checkpoint, predictions, metrics
  std::vector<std::string> names_want, names_got;
  for (const auto& [name, bytes] : want) names_want.push_back(name);
  for (const auto& [name, bytes] : got) names_got.push_back(name);
  ASSERT_EQ(names_got, names_want);
  for (const auto& [name, bytes] : want) EXPECT_TRUE(got.at(name) == bytes) << name << " differs";
}

TEST_F(StudyShards, CollectNamesTheMissingParts) {
  const std::string parts = runs.file("parts");
  ASSERT_EQ(run_command(with(study_args(parts), {"--shard", "1/2"})).exit_code, 0);
  const auto r = run_command(with(study_args(parts), {"--collect"}));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  // Shard 0/2 holds the even parts: part 0 is all/fold-1 with ccc, part 2 all/fold-3.
  EXPECT_NE(r.err.find("9 of 18 study parts are not done"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("missing: ccc/all/fold-1 (part 0)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("missing: ccc/all/fold-3 (part 2)"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("ccc/all/fold-2"), std::string::npos) << r.err;  // part 1: done
  EXPECT_FALSE(fs::exists(parts + "/study.md"));
  EXPECT_FALSE(fs::exists(parts + "/study.json"));
}

TEST_F(StudyShards, AutoTakesTheSlurmArrayElement) {
  setenv("SLURM_ARRAY_TASK_ID", "12", 1);  // --array=11-12: the second of two elements
  setenv("SLURM_ARRAY_TASK_MIN", "11", 1);
  setenv("SLURM_ARRAY_TASK_MAX", "12", 1);
  const auto r = run_command(with(study_args(runs.file("auto")), {"--shard", "auto"}));
  unsetenv("SLURM_ARRAY_TASK_ID");
  unsetenv("SLURM_ARRAY_TASK_MIN");
  unsetenv("SLURM_ARRAY_TASK_MAX");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Slurm array task 12: shard 1/2: trained 9 of 18"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(runs.file("auto/ccc/all/fold-2/metrics.json")));
  EXPECT_FALSE(fs::exists(runs.file("auto/ccc/all/fold-1")));
}

TEST_F(StudyShards, RefusedWithoutAStudyOrAScheduler) {
  auto args = study_args(runs.file("x"));
  args.resize(args.size() - 4);  // without --study ablation --study-losses ...
  auto r = run_command(with(args, {"--shard", "0/2"}));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--shard and --collect split a --study"), std::string::npos) << r.err;
  r = run_command(with(study_args(runs.file("x")), {"--shard", "auto"}));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("neither SLURM_ARRAY_TASK_ID"), std::string::npos) << r.err;
  r = run_command(with(study_args(runs.file("x")), {"--shard", "0/2", "--collect"}));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_FALSE(fs::exists(runs.file("x")));
}

}  // namespace
}  // namespace hl
