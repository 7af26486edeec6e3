// Reading TensorFlow V2 checkpoints (tensor bundles): `<prefix>.index`, a LevelDB-format
// table (weights/leveldb_table.h) whose empty key holds the BundleHeaderProto and whose
// other keys are tensor names with their BundleEntryProto (weights/tf_bundle_proto.h),
// and the data shards `<prefix>.data-SSSSS-of-NNNNN`. Layout and checks: docs/formats.md
// "TensorFlow checkpoints".
//
// open() reads and checks the whole index and every entry against the shard files
// (dtype, shape, size = elements x element size, [offset, offset + size) inside the
// shard, shard id below the header's count) before returning; partitioned variables
// (slices), big-endian bundles and bundles needing a newer reader are refused. Reading a
// tensor checks its CRC-32C. Nothing is trusted from the file before it is checked.
//
// Tests: tests/weights/test_tf_checkpoint.cpp (fixtures saved by TensorFlow, golden),
// tests/weights/test_tf_checkpoint_hostile.cpp, tests/fuzz/fuzz_tf_checkpoint.cpp.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace hl {

struct TfTensorInfo {
  std::string name;
  int64_t dtype = 0;          // TensorFlow's DataType enum (1 = DT_FLOAT, 2 = DT_DOUBLE, ...)
  std::string dtype_name;     // as hl-inspect and safetensors name it: "F32", "F64", "I64", "BOOL", "STRING", ...
  std::vector<int64_t> shape; // any rank; [] is a scalar
  int64_t shard = 0;
  uint64_t offset = 0;        // byte range in the shard
  uint64_t size = 0;
  uint32_t crc32c = 0;        // unmasked; of the bytes (strings: see read_strings)
};

class TfCheckpoint {
 public:
  // `path` is the prefix ("nets/cam/net.tf-675000") or its ".index" file.
  static TfCheckpoint open(const std::string& path);
  // The same from memory: every shard id reads `data`. `name` stands for the prefix in
  // errors. For the fuzz target and the hostile-input tests.
  static TfCheckpoint from_memory(std::span<const uint8_t> index, std::span<const uint8_t> data,
                                  const std::string& name);

  const std::string& prefix() const { return prefix_; }
  std::string index_path() const { return prefix_ + ".index"; }
  std::string shard_path(int64_t shard) const;
  int64_t num_shards() const { return num_shards_; }
  uint64_t total_bytes() const;  // index and shards

  const std::vector<TfTensorInfo>& tensors() const { return tensors_; }  // sorted by name
  const TfTensorInfo* find(const std::string& name) const;               // nullptr when absent

  // The tensor's stored bytes (little-endian, row-major), after checking its CRC-32C
  // (for DT_STRING over TensorFlow's string encoding, see read_strings; DT_RESOURCE and
  // DT_VARIANT are refused).
  std::vector<uint8_t> read_bytes(const std::string& name) const;
  // A DT_STRING tensor's elements in row-major order (stored as a varint length per
  // element, the masked CRC-32C of the lengths, then the bytes; all checked).
  std::vector<std::string> read_strings(const std::string& name) const;
  // The tensor as F32 (CPU, contiguous): f32 as stored; f64 rounded to nearest (beyond
  // the f32 range: +-inf); f16, bf16, int8/16, uint8, bool exact; int32/int64 rounded to
  // nearest above 2^24. At most 5 dimensions (hl's Shape). Other dtypes (strings,
  // complex, quantized) are refused.
  Tensor read_f32(const std::string& name) const;

 private:
  struct Shard {
    std::string path;  // empty in memory
    uint64_t size = 0;
  };
  void load_index(std::span<const uint8_t> index);
  const TfTensorInfo& info(const std::string& name) const;

  std::string prefix_;
  std::string index_name_;  // for errors: the index path, or the name given to from_memory
  uint64_t index_size_ = 0;
  int64_t num_shards_ = 0;
  std::vector<Shard> shards_;
  std::shared_ptr<const std::vector<uint8_t>> memory_data_;  // from_memory only
  std::vector<TfTensorInfo> tensors_;
};

// True for "X.index" naming a file, or "X" where "X.index" is a file (hl-inspect). Never throws.
bool looks_like_tf_checkpoint(const std::string& path);

}  // namespace hl
