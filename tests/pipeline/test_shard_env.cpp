// --shard auto (pipeline/shard_env.h) with the scheduler's variables set in the process
// environment as Slurm and Kubernetes set them: every element of an array gets a distinct
// shard and together they are 0..N-1; arrays with gaps, a missing count, and no scheduler
// at all are refused naming the variables.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <set>
#include <string>

#include "engine/error.h"
#include "pipeline/shard_env.h"

namespace hl {
namespace {

const char* const kVars[] = {"SLURM_ARRAY_TASK_ID",   "SLURM_ARRAY_TASK_MIN",  "SLURM_ARRAY_TASK_MAX",
                             "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_STEP", "JOB_COMPLETION_INDEX"};

class ShardEnv : public ::testing::Test {
 protected:
  void SetUp() override { clear(); }
  void TearDown() override { clear(); }
  static void clear() {
    for (const char* v : kVars) unsetenv(v);
  }
  static void set(const std::map<std::string, std::string>& vars) {
    clear();
    for (const auto& [k, v] : vars) setenv(k.c_str(), v.c_str(), 1);
  }
  static std::string refusal(const std::string& text) {
    try {
      resolve_shard(text);
    } catch (const Error& e) {
      return e.what();
    }
    return "(accepted)";
  }
};

TEST_F(ShardEnv, ExplicitShardIgnoresTheEnvironment) {
  set({{"SLURM_ARRAY_TASK_ID", "3"}, {"SLURM_ARRAY_TASK_MIN", "0"}, {"SLURM_ARRAY_TASK_MAX", "3"}});
  const ShardChoice c = resolve_shard("1/5");
  EXPECT_EQ(c.shard.index, 1);
  EXPECT_EQ(c.shard.count, 5);
  EXPECT_THROW(resolve_shard("5/5"), Error);
}

TEST_F(ShardEnv, SlurmArrayFromZero) {
  // sbatch --array=0-3: Slurm sets ID, MIN, MAX, COUNT (and STEP=1).
  std::set<int64_t> seen;
  for (int id = 0; id <= 3; ++id) {
    set({{"SLURM_ARRAY_TASK_ID", std::to_string(id)}, {"SLURM_ARRAY_TASK_MIN", "0"}, {"SLURM_ARRAY_TASK_MAX", "3"},
         {"SLURM_ARRAY_TASK_COUNT", "4"}, {"SLURM_ARRAY_TASK_STEP", "1"}});
    const ShardChoice c = resolve_shard("auto");
    EXPECT_EQ(c.shard.index, id);
    EXPECT_EQ(c.shard.count, 4);
    EXPECT_NE(c.source.find("Slurm array task " + std::to_string(id)), std::string::npos) << c.source;
    seen.insert(c.shard.index);
    EXPECT_EQ(resolve_shard("auto/4").shard.index, id);
  }
  EXPECT_EQ(seen.size(), 4u);
}

TEST_F(ShardEnv, SlurmArrayWithOffsetAndStep) {
  // --array=5-9 without COUNT (MIN/MAX only): index = ID - 5, count 5.
  set({{"SLURM_ARRAY_TASK_ID", "7"}, {"SLURM_ARRAY_TASK_MIN", "5"}, {"SLURM_ARRAY_TASK_MAX", "9"}});
  EXPECT_EQ(resolve_shard("auto").shard.index, 2);
  EXPECT_EQ(resolve_shard("auto").shard.count, 5);
  // --array=4-10:3 is tasks 4, 7, 10: shards 0, 1, 2 of 3.
  for (int id : {4, 7, 10}) {
    set({{"SLURM_ARRAY_TASK_ID", std::to_string(id)}, {"SLURM_ARRAY_TASK_MIN", "4"}, {"SLURM_ARRAY_TASK_MAX", "10"},
         {"SLURM_ARRAY_TASK_COUNT", "3"}, {"SLURM_ARRAY_TASK_STEP", "3"}});
    EXPECT_EQ(resolve_shard("auto").shard.index, (id - 4) / 3);
    EXPECT_EQ(resolve_shard("auto").shard.count, 3);
  }
  // COUNT only (no MAX): count from it.
  set({{"SLURM_ARRAY_TASK_ID", "1"}, {"SLURM_ARRAY_TASK_MIN", "0"}, {"SLURM_ARRAY_TASK_COUNT", "6"}});
  EXPECT_EQ(resolve_shard("auto").shard.count, 6);
}

TEST_F(ShardEnv, SlurmElementResubmittedAloneKeepsItsShardWithAutoN) {
  // sbatch --array=3 (a rerun of element 3 of 0-9): MIN = MAX = 3, COUNT 1. "auto" would
  // read it as shard 0/1 (every input); auto/10 keeps shard 3/10.
  set({{"SLURM_ARRAY_TASK_ID", "3"}, {"SLURM_ARRAY_TASK_MIN", "3"}, {"SLURM_ARRAY_TASK_MAX", "3"},
       {"SLURM_ARRAY_TASK_COUNT", "1"}});
  EXPECT_EQ(resolve_shard("auto").shard.count, 1);
  const ShardChoice c = resolve_shard("auto/10");
  EXPECT_EQ(c.shard.index, 3);
  EXPECT_EQ(c.shard.count, 10);
  EXPECT_EQ(c.source, "Slurm array task 3: shard 3/10");
  // Even a gapped array is fine with auto/N: each element names its own index.
  set({{"SLURM_ARRAY_TASK_ID", "7"}, {"SLURM_ARRAY_TASK_MIN", "0"}, {"SLURM_ARRAY_TASK_MAX", "7"},
       {"SLURM_ARRAY_TASK_COUNT", "3"}});
  EXPECT_EQ(resolve_shard("auto/8").shard.index, 7);
}

TEST_F(ShardEnv, SlurmArraysThatCannotBeShardsAreRefused) {
  // --array=0,2,7: MIN 0, MAX 7, COUNT 3: shards 1, 3-6 would have no element.
  set({{"SLURM_ARRAY_TASK_ID", "2"}, {"SLURM_ARRAY_TASK_MIN", "0"}, {"SLURM_ARRAY_TASK_MAX", "7"},
       {"SLURM_ARRAY_TASK_COUNT", "3"}});
  EXPECT_NE(refusal("auto").find("not one evenly stepped range"), std::string::npos) << refusal("auto");
  // auto/N with a task id of N or more.
  set({{"SLURM_ARRAY_TASK_ID", "8"}, {"SLURM_ARRAY_TASK_MIN", "0"}, {"SLURM_ARRAY_TASK_MAX", "9"}});
  EXPECT_NE(refusal("auto/8").find("SLURM_ARRAY_TASK_ID=8 is not below 8"), std::string::npos) << refusal("auto/8");
  // A task id off the step, a missing MIN, a value that is not a number.
  set({{"SLURM_ARRAY_TASK_ID", "5"}, {"SLURM_ARRAY_TASK_MIN", "4"}, {"SLURM_ARRAY_TASK_MAX", "10"},
       {"SLURM_ARRAY_TASK_STEP", "3"}});
  EXPECT_NE(refusal("auto").find("task id outside"), std::string::npos) << refusal("auto");
  set({{"SLURM_ARRAY_TASK_ID", "1"}});
  EXPECT_NE(refusal("auto").find("SLURM_ARRAY_TASK_MIN"), std::string::npos) << refusal("auto");
  set({{"SLURM_ARRAY_TASK_ID", "x1"}, {"SLURM_ARRAY_TASK_MIN", "0"}, {"SLURM_ARRAY_TASK_MAX", "3"}});
  EXPECT_NE(refusal("auto").find("SLURM_ARRAY_TASK_ID='x1'"), std::string::npos) << refusal("auto");
}

TEST_F(ShardEnv, KubernetesIndexedJobNeedsTheCount) {
  set({{"JOB_COMPLETION_INDEX", "2"}});
  const ShardChoice c = resolve_shard("auto/3");
  EXPECT_EQ(c.shard.index, 2);
  EXPECT_EQ(c.shard.count, 3);
  EXPECT_NE(refusal("auto").find("--shard auto/N"), std::string::npos) << refusal("auto");
  EXPECT_NE(refusal("auto/2").find("is not below 2"), std::string::npos) << refusal("auto/2");
  EXPECT_NE(refusal("auto/0").find("expected auto/N"), std::string::npos) << refusal("auto/0");
}

TEST_F(ShardEnv, NoSchedulerIsRefusedNamingBothVariables) {
  const std::string m = refusal("auto");
  EXPECT_NE(m.find("SLURM_ARRAY_TASK_ID"), std::string::npos) << m;
  EXPECT_NE(m.find("JOB_COMPLETION_INDEX"), std::string::npos) << m;
  EXPECT_NE(m.find("--shard I/N"), std::string::npos) << m;
  set({{"SLURM_ARRAY_TASK_ID", "0"}, {"SLURM_ARRAY_TASK_MIN", "0"}, {"SLURM_ARRAY_TASK_MAX", "1"},
       {"JOB_COMPLETION_INDEX", "0"}});
  EXPECT_NE(refusal("auto").find("both"), std::string::npos) << refusal("auto");
}

}  // namespace
}  // namespace hl
