#include "pipeline/shard_env.h"

#include <cstdint>
#include <cstdlib>

#include "engine/error.h"
#include "engine/parse_number.h"

namespace hl {

namespace {

constexpr const char* kHelp =
    "; give --shard I/N, or run under a Slurm array (sbatch --array=0-(N-1)) or a Kubernetes Indexed Job "
    "(--shard auto/N)";

// The variable as a whole number, nullopt when unset; refused when set to anything else.
std::optional<int64_t> env_integer(const EnvLookup& env, const std::string& name) {
  const std::optional<std::string> text = env(name);
  if (!text) return std::nullopt;
  const std::optional<int64_t> v = parse_integer(*text);
  if (!v || *v < 0) throw Error("--shard auto: " + name + "='" + *text + "' is not a whole number of 0 or more");
  return v;
}

ShardChoice from_slurm(const EnvLookup& env, int64_t id, std::optional<int64_t> expected_count) {
  if (expected_count) {  // auto/N: the task id is the index, whatever else the array holds
    if (id >= *expected_count)
      throw Error("--shard auto/" + std::to_string(*expected_count) + ": SLURM_ARRAY_TASK_ID=" + std::to_string(id) +
                  " is not below " + std::to_string(*expected_count) + " (submit --array=0-" +
                  std::to_string(*expected_count - 1) + ", or a part of it)");
    ShardChoice c;
    c.shard = Shard{id, *expected_count};
    c.source = "Slurm array task " + std::to_string(id) + ": shard " + std::to_string(id) + "/" +
               std::to_string(*expected_count);
    return c;
  }
  const auto min = env_integer(env, "SLURM_ARRAY_TASK_MIN");
  const auto max = env_integer(env, "SLURM_ARRAY_TASK_MAX");
  const auto count = env_integer(env, "SLURM_ARRAY_TASK_COUNT");
  const auto step = env_integer(env, "SLURM_ARRAY_TASK_STEP").value_or(1);
  if (!min || (!max && !count))
    throw Error("--shard auto: SLURM_ARRAY_TASK_ID is set but not SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_MAX or "
                "SLURM_ARRAY_TASK_COUNT (a Slurm older than 17.02?)" + std::string(kHelp));
  if (step < 1) throw Error("--shard auto: SLURM_ARRAY_TASK_STEP=0 is not a step");
  const std::string array = "the Slurm array (task " + std::to_string(id) + ", min " + std::to_string(*min) +
                            (max ? ", max " + std::to_string(*max) : "") +
                            (count ? ", count " + std::to_string(*count) : "") + ", step " + std::to_string(step) + ")";
  if (id < *min || (max && id > *max) || (id - *min) % step != 0)
    throw Error("--shard auto: task id outside " + array);
  const int64_t n = max ? (*max - *min) / step + 1 : *count;
  // _COUNT counts the elements really submitted: fewer than MIN..MAX holds means gaps
  // (--array=0,3,5), so some shard index would have no element to run it.
  if (count && *count != n)
    throw Error("--shard auto: " + array + " is not one evenly stepped range of " + std::to_string(n) +
                " elements; submit --array=0-(N-1) (a throttle such as %4 is fine), or give --shard I/N");
  ShardChoice c;
  c.shard = Shard{(id - *min) / step, n};
  c.source = "Slurm array task " + std::to_string(id) + ": shard " + std::to_string(c.shard.index) + "/" +
             std::to_string(n);
  return c;
}

}  // namespace

std::optional<std::string> process_env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (!v) return std::nullopt;
  return std::string(v);
}

ShardChoice resolve_shard(const std::string& text, const EnvLookup& env) {
  if (text != "auto" && text.rfind("auto/", 0) != 0) {
    ShardChoice c;
    c.shard = parse_shard(text);
    c.source = "shard " + text;
    return c;
  }
  std::optional<int64_t> expected_count;
  if (text != "auto") {
    expected_count = parse_integer(std::string_view(text).substr(5));
    if (!expected_count || *expected_count < 1)
      throw Error("--shard '" + text + "': expected auto/N with N >= 1 (the number of elements of the job)");
  }
  const auto slurm_id = env_integer(env, "SLURM_ARRAY_TASK_ID");
  const auto k8s_index = env_integer(env, "JOB_COMPLETION_INDEX");
  if (slurm_id && k8s_index)
    throw Error("--shard auto: both SLURM_ARRAY_TASK_ID and JOB_COMPLETION_INDEX are set; give --shard I/N");
  if (slurm_id) return from_slurm(env, *slurm_id, expected_count);
  if (k8s_index) {
    if (!expected_count)
      throw Error("--shard auto: JOB_COMPLETION_INDEX=" + std::to_string(*k8s_index) +
                  " (a Kubernetes Indexed Job) does not say how many elements there are; give --shard auto/N with "
                  "N the Job's spec.completions");
    if (*k8s_index >= *expected_count)
      throw Error("--shard " + text + ": JOB_COMPLETION_INDEX=" + std::to_string(*k8s_index) + " is not below " +
                  std::to_string(*expected_count) + " (spec.completions must equal N)");
    ShardChoice c;
    c.shard = Shard{*k8s_index, *expected_count};
    c.source = "Kubernetes completion index " + std::to_string(*k8s_index) + ": shard " + std::to_string(*k8s_index) +
               "/" + std::to_string(*expected_count);
    return c;
  }
  throw Error("--shard " + text + ": neither SLURM_ARRAY_TASK_ID (a Slurm array job) nor JOB_COMPLETION_INDEX (a "
              "Kubernetes Indexed Job) is set" + std::string(kHelp));
}

}  // namespace hl
