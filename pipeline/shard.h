// --shard I/N: which inputs (or study parts) one process of a sharded run takes. An input
// with id X belongs to shard fnv1a64(X) mod N (0-based I): stable across machines, runs
// and input orders, and the shards of one N partition any input set. Kept apart from
// pipeline/extract.h so that programs which shard without extracting (hl-train --study
// --shard) do not link the media decoder (the GPU machine has no FFmpeg: tools/prepare-gpu-carry.sh).
// --shard auto: pipeline/shard_env.h. Tests: tests/pipeline/test_shard_env.cpp,
// tests/tools/test_hl_extract.cpp (ShardsPartitionAListedDataset).
#pragma once
#include <cstdint>
#include <string>

namespace hl {

struct Shard {
  int64_t index = 0;
  int64_t count = 1;
};
Shard parse_shard(const std::string& text);  // "I/N" with 0 <= I < N; hl::Error otherwise
bool in_shard(const std::string& id, const Shard& shard);

}  // namespace hl
