// The two protobuf messages of a TensorFlow tensor bundle's index, decoded by hand (no
// protobuf dependency): BundleHeaderProto (the entry with the empty key) and
// BundleEntryProto (one per tensor). Field numbers from TensorFlow's
// core/protobuf/tensor_bundle.proto, tensor_shape.proto and versions.proto; unknown
// fields are skipped as protobuf does, a known field with the wrong wire type or any
// field running off its message is an error.
//
// Tests: tests/weights/test_tf_checkpoint.cpp, tests/fuzz/fuzz_tf_checkpoint.cpp.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace hl::tf_bundle {

struct Header {
  int64_t num_shards = 0;   // field 1
  int64_t endianness = 0;   // field 2: 0 little, 1 big
  int64_t producer = 0;     // field 3 (VersionDef) field 1
  int64_t min_consumer = 0; // VersionDef field 2
  std::vector<int64_t> bad_consumers;  // VersionDef field 3
};

struct Entry {
  int64_t dtype = 0;               // field 1: TensorFlow's DataType enum (1 = DT_FLOAT, ...)
  std::vector<int64_t> shape;      // field 2: TensorShapeProto's dim sizes (-1 = unknown)
  bool unknown_rank = false;       // TensorShapeProto field 3
  int64_t shard_id = 0;            // field 3
  int64_t offset = 0;              // field 4
  int64_t size = 0;                // field 5
  uint32_t crc32c = 0;             // field 6 (fixed32): masked CRC-32C of the bytes
  int64_t num_slices = 0;          // field 7 (repeated TensorSliceProto): partitioned variable
};

// Both throw hl::FormatError(file, what + ": " + problem).
Header parse_header(std::span<const uint8_t> bytes, const std::string& file, const std::string& what);
Entry parse_entry(std::span<const uint8_t> bytes, const std::string& file, const std::string& what);

}  // namespace hl::tf_bundle
