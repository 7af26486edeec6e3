// Reading a whole LevelDB-format table (the `.index` file of a TensorFlow V2 checkpoint,
// written by TensorFlow's lib/io/table_builder): the 48-byte footer and its magic, the
// index block, every data block with its trailer (compression type, masked CRC-32C),
// prefix-compressed keys and the restart array. Layout: docs/formats.md "TensorFlow
// checkpoints".
//
// Everything is checked before it is used: block handles inside the file and in file
// order (no block read twice), CRCs, varints inside their block, shared key prefixes no
// longer than the previous key, restart offsets on entry boundaries, keys strictly
// increasing over the whole table. Snappy-compressed blocks are refused (TensorFlow
// writes checkpoint indexes uncompressed). Filter blocks are not read (TensorFlow
// writes none; the metaindex block is only checked).
//
// Tests: tests/weights/test_tf_checkpoint.cpp, tests/fuzz/fuzz_tf_checkpoint.cpp.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace hl::leveldb {

struct Entry {
  std::string key;
  std::span<const uint8_t> value;  // inside the table's bytes: valid while they are
};

constexpr uint64_t kTableMagic = 0xdb4775248b80fb57ull;
constexpr size_t kFooterSize = 48;
constexpr size_t kBlockTrailerSize = 5;  // type byte + masked CRC-32C of contents and type

// Every entry of the table, in key order. Throws hl::FormatError(name, problem).
std::vector<Entry> read_table(std::span<const uint8_t> table, const std::string& name);

// A varint of at most `max_bytes` bytes (5 for varint32, 10 for varint64) from
// [*pos, end); false when it runs off the end or is too long. Shared with the protobuf
// decoding of tf_bundle_proto.cpp.
bool get_varint(const uint8_t* end, const uint8_t** pos, uint64_t* value, int max_bytes = 10);

}  // namespace hl::leveldb
