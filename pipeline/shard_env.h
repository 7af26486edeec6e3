// --shard auto: the shard of this process from the scheduler that started it, so that an
// array job runs one command line for every element (docs/scale-out.md).
//
//   Slurm array (sbatch --array=A-B[:S]):  SLURM_ARRAY_TASK_ID, _MIN, and _MAX or _COUNT
//     (_STEP when set): index = (ID - MIN) / STEP, count = (MAX - MIN) / STEP + 1. An array
//     whose elements are not one evenly stepped range (--array=0,2,7: _COUNT disagrees
//     with MIN..MAX) is refused: some shards would have no element and their inputs no
//     process.
//   Kubernetes Indexed Job: JOB_COMPLETION_INDEX is the index; the count is not in the
//     environment, so it is given as --shard auto/N (N = the Job's spec.completions).
//   auto/N under either: the index is the element's own number (SLURM_ARRAY_TASK_ID or
//     JOB_COMPLETION_INDEX, below N) and the count N, whatever else the array holds: so a
//     failed element resubmitted alone (sbatch --array=3) keeps its shard, 3/N.
// Without either variable "auto" is refused, naming both. "I/N" is parse_shard's
// (pipeline/shard.h).
#pragma once
#include <functional>
#include <optional>
#include <string>

#include "pipeline/shard.h"

namespace hl {

// An environment variable's value, or nullopt when it is not set. The default reads the
// process environment; tests pass a map.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
std::optional<std::string> process_env(const std::string& name);

struct ShardChoice {
  Shard shard;
  std::string source;  // for the summary: "shard 1/4", "Slurm array task 7: shard 1/4", ...
};

// `text` is the --shard value: "I/N", "auto" or "auto/N". Throws hl::Error with a message
// naming the option, the variables and what to do.
ShardChoice resolve_shard(const std::string& text, const EnvLookup& env = process_env);

}  // namespace hl
