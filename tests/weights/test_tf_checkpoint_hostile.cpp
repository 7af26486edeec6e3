// The TensorFlow V2 checkpoint reader on malformed and hostile input: every checkpoint
// must be refused with an hl::FormatError that names the file and the specific problem,
// and nothing may crash, hang or allocate more than the files justify (this suite also
// runs under ASan/UBSan).
//
// Two sources of bad checkpoints: the fixtures TensorFlow saved (tests/weights/
// tf_fixtures/), copied and corrupted here byte by byte (the places found by decoding the
// footer by hand); and small checkpoints built here field by field (a LevelDB table of
// one data block, restart interval 1, and the two protobuf messages), whose expected
// behaviour follows from the formats, not from the reader. The fuzz seed corpus
// tests/fuzz/corpus/tf_checkpoint is replayed through the fuzz target's entry point.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <map>

#include "support/test_support.h"
#include "weights/crc32c.h"
#include "weights/tf_checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace hl {
namespace {

namespace fs = std::filesystem;

// --- the fixtures, copied and corrupted ----------------------------------------------

fs::path fixture(const std::string& name) { return test::source_dir() / "tests" / "weights" / "tf_fixtures" / name; }

uint64_t get_varint(const std::vector<uint8_t>& b, size_t* i) {
  uint64_t v = 0;
  for (int shift = 0; *i < b.size(); shift += 7) {
    const uint8_t c = b[(*i)++];
    v |= uint64_t{c & 0x7Fu} << shift;
    if (!(c & 0x80)) return v;
  }
  ADD_FAILURE() << "varint off the fixture";
  return 0;
}

struct Block {
  size_t offset, size;
};

// The first data block of a table: footer -> index block handle -> its first entry.
Block first_data_block(const std::vector<uint8_t>& index) {
  size_t i = index.size() - 48;
  get_varint(index, &i), get_varint(index, &i);  // metaindex handle
  size_t j = get_varint(index, &i);              // index block offset
  get_varint(index, &j);                         // shared (0)
  const uint64_t non_shared = get_varint(index, &j);
  get_varint(index, &j);  // value length
  j += non_shared;
  const size_t off = get_varint(index, &j);
  const size_t size = get_varint(index, &j);
  return {off, size};
}

void put_u32(std::vector<uint8_t>& b, size_t at, uint32_t v) { std::memcpy(b.data() + at, &v, 4); }
uint32_t get_u32(const std::vector<uint8_t>& b, size_t at) {
  uint32_t v;
  std::memcpy(&v, b.data() + at, 4);
  return v;
}

// A block's trailer CRC recomputed after a change (hl::crc32c is checked against the
// published check values in test_tf_checkpoint), so that the problem behind it is reached.
void reseal(std::vector<uint8_t>& index, const Block& b) {
  put_u32(index, b.offset + b.size + 1, crc32c::mask(crc32c::value(index.data() + b.offset, b.size + 1)));
}

// A fixture checkpoint copied into a temporary folder, to be corrupted there.
class Copy {
 public:
  explicit Copy(const std::string& name) : prefix_(dir_.file(name)) {
    for (const auto& e : fs::directory_iterator(fixture("").parent_path()))
      if (e.path().filename().string().rfind(name + ".", 0) == 0 && e.path().extension() != ".json")
        fs::copy_file(e.path(), dir_.path() / e.path().filename());
  }
  const std::string& prefix() const { return prefix_; }
  std::string index() const { return prefix_ + ".index"; }
  std::string shard(const std::string& suffix) const { return prefix_ + ".data-" + suffix; }
  std::vector<uint8_t> read(const std::string& path) const { return test::read_file(path); }
  void write(const std::string& path, const std::vector<uint8_t>& b) const { test::write_file(path, b); }
  std::string open_error() const {
    return test::error_of([&] { TfCheckpoint::open(prefix_); });
  }

 private:
  test::TempDir dir_;
  std::string prefix_;
};

#define EXPECT_CONTAINS(text, part) EXPECT_NE((text).find(part), std::string::npos) << (text)

TEST(TfCheckpointHostile, BadMagic) {
  Copy c("basic");
  auto b = c.read(c.index());
  b.back() ^= 0xFF;
  c.write(c.index(), b);
  const std::string e = c.open_error();
  EXPECT_CONTAINS(e, c.index() + ": bad magic");
}

TEST(TfCheckpointHostile, TruncatedFooter) {
  Copy c("basic");
  const auto b = c.read(c.index());
  c.write(c.index(), std::vector<uint8_t>(b.begin(), b.begin() + 40));
  EXPECT_CONTAINS(c.open_error(), c.index() + ": too short for a LevelDB table: 40 bytes");
  // One byte short: the magic is no longer at the end.
  c.write(c.index(), std::vector<uint8_t>(b.begin(), b.end() - 1));
  EXPECT_CONTAINS(c.open_error(), c.index() + ": bad magic");
  c.write(c.index(), {});
  EXPECT_CONTAINS(c.open_error(), c.index() + ": too short for a LevelDB table: 0 bytes");
}

TEST(TfCheckpointHostile, BlockCrcMismatch) {
  Copy c("basic");
  auto b = c.read(c.index());
  const Block blk = first_data_block(b);
  b[blk.offset + 10] ^= 0x01;  // inside a tensor name
  c.write(c.index(), b);
  EXPECT_CONTAINS(c.open_error(), c.index() + ": the data block at offset 0: CRC-32C mismatch");
}

TEST(TfCheckpointHostile, SnappyBlockRefusedClearly) {
  Copy c("basic");
  auto b = c.read(c.index());
  const Block blk = first_data_block(b);
  b[blk.offset + blk.size] = 1;  // kSnappyCompression
  reseal(b, blk);
  c.write(c.index(), b);
  EXPECT_CONTAINS(c.open_error(), "is snappy-compressed, which hl does not read");
  b[blk.offset + blk.size] = 7;
  reseal(b, blk);
  c.write(c.index(), b);
  EXPECT_CONTAINS(c.open_error(), "unknown compression type 7");
}

TEST(TfCheckpointHostile, VarintRunningOffTheBlock) {
  Copy c("basic");
  auto b = c.read(c.index());
  const Block blk = first_data_block(b);
  // More restart points, so that the entries end 1 to 4 bytes into the block, and those
  // bytes all continuation bytes: the first varint has no end inside the entries.
  const size_t count = (blk.size - 4) % 4 == 0 ? (blk.size - 4) / 4 - 1 : (blk.size - 4) / 4;
  put_u32(b, blk.offset + blk.size - 4, static_cast<uint32_t>(count));
  const size_t entries_end = blk.size - 4 - 4 * count;
  ASSERT_TRUE(entries_end >= 1 && entries_end <= 4);
  for (size_t k = 0; k < entries_end; ++k) b[blk.offset + k] = 0x80;
  reseal(b, blk);
  c.write(c.index(), b);
  EXPECT_CONTAINS(c.open_error(), c.index() + ": the data block at offset 0: the entry at byte 0 has a varint running off the block");
}

TEST(TfCheckpointHostile, RestartArrayOutOfRange) {
  Copy c("basic");
  auto b = c.read(c.index());
  const Block blk = first_data_block(b);
  const uint32_t restarts = get_u32(b, blk.offset + blk.size - 4);
  ASSERT_GE(restarts, 2u) << "the fixture's data block has more than 16 entries, so several restarts";
  const size_t array = blk.offset + blk.size - 4 - 4 * restarts;
  for (uint32_t bad : {0x7FFFFFF0u, get_u32(b, array + 4) + 1}) {  // past the block; not on an entry
    auto m = b;
    put_u32(m, array + 4, bad);
    reseal(m, blk);
    c.write(c.index(), m);
    EXPECT_CONTAINS(c.open_error(), c.index() + ": the data block at offset 0: restart point 1 (offset " +
                                        std::to_string(bad) + ") is out of range");
  }
  // The restart count itself larger than the block.
  put_u32(b, blk.offset + blk.size - 4, 0x40000000u);
  reseal(b, blk);
  c.write(c.index(), b);
  EXPECT_CONTAINS(c.open_error(), "declares 1073741824 restart points, impossible");
}

TEST(TfCheckpointHostile, TensorCrcMismatchNamesTheShard) {
  // Each tensor in turn gets one bit flipped in its data: that tensor, and only that one,
  // fails its CRC-32C when read.
  Copy c("basic");
  const std::string shard = c.shard("00000-of-00001");
  const auto original = c.read(shard);
  const TfCheckpoint ckpt = TfCheckpoint::open(c.prefix());
  int checked = 0;
  for (const auto& t : ckpt.tensors()) {
    if (t.size == 0) continue;
    auto b = original;
    b[t.offset + t.size / 2] ^= 0x10;
    c.write(shard, b);
    SCOPED_TRACE(t.name);
    EXPECT_CONTAINS(test::error_of([&] { ckpt.read_f32(t.name); }), shard + ": tensor '" + t.name + "': CRC-32C mismatch");
    for (const auto& other : ckpt.tensors()) {
      if (other.name != t.name && (other.offset + other.size <= t.offset || other.offset > t.offset)) {
        EXPECT_NO_THROW(ckpt.read_bytes(other.name)) << other.name;
      }
    }
    ++checked;
    if (checked >= 6) break;  // enough; every tensor would take quadratic time
  }
  EXPECT_EQ(checked, 6);
}

TEST(TfCheckpointHostile, StringTensorCorruption) {
  // text = ["ab", "", "xyz\0\xff", "q" * 200]: lengths 02 00 05 c8 01, the 4-byte
  // checksum of the lengths, then the 207 bytes.
  Copy c("object");
  const std::string shard = c.shard("00000-of-00001");
  const auto original = c.read(shard);
  const TfCheckpoint ckpt = TfCheckpoint::open(c.prefix());
  const TfTensorInfo* t = ckpt.find("text/.ATTRIBUTES/VARIABLE_VALUE");
  ASSERT_NE(t, nullptr);
  ASSERT_EQ(t->size, 5u + 4u + 207u);
  ASSERT_EQ(original[t->offset + 3], 0xc8);
  auto b = original;
  b[t->offset + t->size - 1] ^= 0x01;  // the last 'q'
  c.write(shard, b);
  EXPECT_CONTAINS(test::error_of([&] { ckpt.read_strings(t->name); }), shard + ": tensor '" + t->name + "': CRC-32C mismatch");
  b = original;
  b[t->offset] = 0x06;  // "ab" becomes 6 bytes long: the lengths no longer match their checksum
  c.write(shard, b);
  EXPECT_CONTAINS(test::error_of([&] { ckpt.read_bytes(t->name); }),
                  shard + ": string tensor '" + t->name + "': the string lengths (211 bytes) and their checksum do not add up");
  b = original;
  b[t->offset] = 0xff;  // a varint that never ends within 10 bytes of lengths
  b[t->offset + 1] = 0xff;
  b[t->offset + 2] = 0xff;
  c.write(shard, b);
  EXPECT_CONTAINS(test::error_of([&] { ckpt.read_bytes(t->name); }), "string length 0 is malformed or longer than the tensor");
  c.write(shard, original);
  EXPECT_EQ(ckpt.read_strings(t->name).at(2), std::string("xyz\0\xff", 5));
}

TEST(TfCheckpointHostile, TensorPastTheEndOfItsShard) {
  Copy c("basic");
  const std::string shard = c.shard("00000-of-00001");
  auto b = c.read(shard);
  b.pop_back();
  c.write(shard, b);
  const std::string e = c.open_error();
  EXPECT_CONTAINS(e, c.index() + ": tensor '");
  EXPECT_CONTAINS(e, "of shard 0 ('" + shard + "'), past its end at " + std::to_string(b.size()));
}

TEST(TfCheckpointHostile, MissingShardIsNamed) {
  Copy c("sharded");
  fs::remove(c.shard("00001-of-00002"));
  EXPECT_CONTAINS(c.open_error(), c.shard("00001-of-00002") + ": cannot open the checkpoint's data shard");
  fs::create_directory(c.shard("00001-of-00002"));
  EXPECT_CONTAINS(c.open_error(), c.shard("00001-of-00002") + ": the checkpoint's data shard is not a regular file");
}

TEST(TfCheckpointHostile, MissingOrWrongIndex) {
  test::TempDir dir;
  EXPECT_CONTAINS(test::error_of([&] { TfCheckpoint::open(dir.file("nothing")); }),
                  dir.file("nothing.index") + ": cannot open");
  test::write_file(dir.file("weights.bin"), std::string("not a checkpoint"));
  EXPECT_CONTAINS(test::error_of([&] { TfCheckpoint::open(dir.file("weights.bin")); }),
                  "is not a TensorFlow checkpoint prefix");
  fs::create_directory(dir.file("d.index"));
  EXPECT_CONTAINS(test::error_of([&] { TfCheckpoint::open(dir.file("d")); }), dir.file("d.index") + ": is not a regular file");
}

// --- checkpoints built field by field ----------------------------------------------

std::string varint(uint64_t v) {
  std::string s;
  while (v >= 0x80) {
    s += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  return s + static_cast<char>(v);
}
std::string pb_varint(int field, uint64_t v) { return varint(static_cast<uint64_t>(field) << 3) + varint(v); }
std::string pb_bytes(int field, const std::string& b) { return varint(static_cast<uint64_t>(field) << 3 | 2) + varint(b.size()) + b; }
std::string pb_fixed32(int field, uint32_t v) {
  std::string s = varint(static_cast<uint64_t>(field) << 3 | 5);
  for (int i = 0; i < 4; ++i) s += static_cast<char>((v >> (8 * i)) & 0xFF);
  return s;
}
std::string u32(uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); }

// BundleHeaderProto {num_shards = 1; endianness = 2; version = 3 {producer = 1; min_consumer = 2}}.
std::string header(int64_t num_shards, int endianness = 0, int64_t min_consumer = 0) {
  return pb_varint(1, static_cast<uint64_t>(num_shards)) + (endianness ? pb_varint(2, endianness) : "") +
         pb_bytes(3, pb_varint(1, 1) + (min_consumer ? pb_varint(2, min_consumer) : ""));
}

struct EntrySpec {
  int64_t dtype = 1;  // DT_FLOAT
  std::vector<int64_t> shape;
  int64_t shard = 0, offset = 0, size = 0;
  uint32_t crc = 0;  // unmasked
  int slices = 0;
};
// BundleEntryProto {dtype = 1; shape = 2 {dim = 2 {size = 1}}; shard_id = 3; offset = 4; size = 5; crc32c = 6 (fixed32); slices = 7}.
std::string entry(const EntrySpec& e) {
  std::string shape;
  for (int64_t d : e.shape) shape += pb_bytes(2, pb_varint(1, static_cast<uint64_t>(d)));
  std::string s = pb_varint(1, static_cast<uint64_t>(e.dtype)) + pb_bytes(2, shape);
  if (e.shard) s += pb_varint(3, static_cast<uint64_t>(e.shard));
  if (e.offset) s += pb_varint(4, static_cast<uint64_t>(e.offset));
  if (e.size) s += pb_varint(5, static_cast<uint64_t>(e.size));
  s += pb_fixed32(6, crc32c::mask(e.crc));
  for (int i = 0; i < e.slices; ++i) s += pb_bytes(7, "");
  return s;
}

// A block: every entry stores its whole key (restart interval 1).
std::string block(const std::vector<std::pair<std::string, std::string>>& kv) {
  std::string s, restarts;
  for (const auto& [k, v] : kv) {
    restarts += u32(static_cast<uint32_t>(s.size()));
    s += varint(0) + varint(k.size()) + varint(v.size()) + k + v;
  }
  if (kv.empty()) restarts = u32(0);
  return s + restarts + u32(static_cast<uint32_t>(std::max<size_t>(kv.size(), 1)));
}
std::string handle(uint64_t off, uint64_t size) { return varint(off) + varint(size); }
// Appends contents + trailer (type, masked CRC of contents and type); returns its handle.
std::string append_block(std::string& file, const std::string& contents, uint8_t type = 0) {
  const std::string h = handle(file.size(), contents.size());
  const std::string typed = contents + static_cast<char>(type);
  file += typed + u32(crc32c::mask(crc32c::value(typed.data(), typed.size())));
  return h;
}
std::string footer(const std::string& meta, const std::string& index) {
  std::string f = meta + index;
  f.resize(40, '\0');
  return f + u32(0x8b80fb57u) + u32(0xdb477524u);
}
// A table of one data block (the raw block contents given), an empty metaindex and an
// index block pointing at the data block.
std::string table_of_block(const std::string& data_block, uint8_t type = 0, const std::string& last_key = "\xff") {
  std::string file;
  const std::string data = append_block(file, data_block, type);
  const std::string meta = append_block(file, block({}));
  const std::string index = append_block(file, block({{last_key, data}}));
  return file + footer(meta, index);
}
std::string table(const std::vector<std::pair<std::string, std::string>>& kv, uint8_t type = 0) {
  return table_of_block(block(kv), type);
}

std::vector<uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }
std::string f32s(std::initializer_list<float> v) {
  std::string s;
  for (float f : v) s.append(reinterpret_cast<const char*>(&f), 4);
  return s;
}

// The problem with a checkpoint in memory, or "(accepted)" once every tensor was read.
std::string problem(const std::string& index, const std::string& data) {
  try {
    const TfCheckpoint c = TfCheckpoint::from_memory(bytes(index), bytes(data), "hostile.index");
    for (const auto& t : c.tensors()) c.read_f32(t.name);
    return "(accepted)";
  } catch (const FormatError& e) {
    EXPECT_EQ(e.path(), "hostile.index");
    return e.problem();
  }
}

const std::string kData = f32s({1.5f, -2.0f});
uint32_t data_crc() { return crc32c::value(kData.data(), kData.size()); }
EntrySpec good() { return {.dtype = 1, .shape = {2}, .shard = 0, .offset = 0, .size = 8, .crc = data_crc()}; }
std::string one(const EntrySpec& e, const std::string& head = header(1)) { return table({{"", head}, {"x", entry(e)}}); }

TEST(TfCheckpointBuilt, ControlAWellFormedCheckpointIsRead) {
  EXPECT_EQ(problem(one(good()), kData), "(accepted)");
  const TfCheckpoint c = TfCheckpoint::from_memory(bytes(one(good())), bytes(kData), "built");
  ASSERT_EQ(c.tensors().size(), 1u);
  const Tensor t = c.read_f32("x");
  EXPECT_EQ(t.shape().vec(), std::vector<int64_t>{2});
  EXPECT_EQ(t.data<float>()[0], 1.5f);
  EXPECT_EQ(t.data<float>()[1], -2.0f);
}

TEST(TfCheckpointBuilt, ShapeProductOverflow) {
  EntrySpec e = good();
  e.shape = {int64_t{1} << 40, int64_t{1} << 40};
  EXPECT_EQ(problem(one(e), kData), "tensor 'x': shape product overflows: more than 2^62 elements");
  e.shape = {int64_t{1} << 61, 2};  // 2^62 elements fit, 2^64 bytes do not
  EXPECT_EQ(problem(one(e), kData), "tensor 'x': holds 8 bytes, but 4611686018427387904 elements of DT_FLOAT need more than 2^64");
  e.shape = {-1, 2};
  EXPECT_EQ(problem(one(e), kData), "tensor 'x': has a negative (unknown) dimension -1");
}

TEST(TfCheckpointBuilt, OffsetOrSizePastTheShard) {
  EntrySpec e = good();
  e.offset = 4;
  EXPECT_EQ(problem(one(e), kData), "tensor 'x': lies at bytes [4, 4 + 8) of shard 0 ('data'), past its end at 8");
  e.offset = int64_t{1} << 62;  // offset + size would overflow nothing, but is far past
  EXPECT_NE(problem(one(e), kData).find("past its end at 8"), std::string::npos);
  e = good();
  e.shape = {3};
  e.size = 12;
  EXPECT_NE(problem(one(e), kData).find("past its end at 8"), std::string::npos);
  e.size = 8;  // 3 floats in 8 bytes
  EXPECT_EQ(problem(one(e), kData), "tensor 'x': holds 8 bytes, but 3 elements of DT_FLOAT need 12");
}

TEST(TfCheckpointBuilt, ShardIdPastTheCount) {
  EntrySpec e = good();
  e.shard = 3;
  EXPECT_EQ(problem(one(e), kData), "tensor 'x': lies in shard 3, but the checkpoint has 1");
  e.shard = 1;
  EXPECT_EQ(problem(one(e, header(2)), kData), "(accepted)");  // in memory every shard reads kData
  EXPECT_EQ(problem(one(good(), header(0)), kData), "the header declares 0 shards (1 to 99999 allowed)");
  EXPECT_EQ(problem(one(good(), header(100000)), kData), "the header declares 100000 shards (1 to 99999 allowed)");
}

TEST(TfCheckpointBuilt, TensorCrcMismatch) {
  EntrySpec e = good();
  e.crc ^= 1;
  EXPECT_NE(problem(one(e), kData).find("tensor 'x': CRC-32C mismatch"), std::string::npos);
}

TEST(TfCheckpointBuilt, HeaderChecks) {
  EXPECT_EQ(problem(one(good(), header(1, 1)), kData), "is a big-endian checkpoint, which hl does not read");
  EXPECT_EQ(problem(one(good(), header(1, 5)), kData), "the header has unknown endianness 5");
  EXPECT_EQ(problem(one(good(), header(1, 0, 2)), kData),
            "needs a reader of tensor bundle version 2 or newer; hl reads version 1");
  EXPECT_EQ(problem(table({{"x", entry(good())}}), kData),
            "has no header entry (the empty key): not a TensorFlow V2 checkpoint index");
  EXPECT_EQ(problem(table({}), kData), "has no header entry (the empty key): not a TensorFlow V2 checkpoint index");
  EXPECT_EQ(problem(table({{"", header(1)}}), ""), "(accepted)");  // no tensors at all
}

TEST(TfCheckpointBuilt, EntryChecks) {
  EntrySpec e = good();
  e.slices = 2;
  EXPECT_EQ(problem(one(e), kData),
            "tensor 'x': is a partitioned variable (stored as 2 slices), which hl does not read; save it unpartitioned");
  e = good();
  e.dtype = 99;
  EXPECT_EQ(problem(one(e), kData), "tensor 'x': unknown dtype 99");
  // A string tensor is listed (its size is not elements x a fixed size) but not converted.
  e = good();
  e.dtype = 7;
  const TfCheckpoint c = TfCheckpoint::from_memory(bytes(one(e)), bytes(kData), "s");
  EXPECT_EQ(c.tensors().at(0).dtype_name, "STRING");
  EXPECT_NE(test::error_of([&] { c.read_f32("x"); }).find("tensor 'x' has dtype DT_STRING, which cannot be read as float32"),
            std::string::npos);
  // 6 dimensions: listed, not convertible to an hl tensor.
  e = good();
  e.shape = {1, 1, 1, 1, 1, 2};
  EXPECT_EQ(problem(one(e), kData), "tensor 'x' has 6 dimensions; hl tensors have at most 5");
}

TEST(TfCheckpointBuilt, MalformedProtobuf) {
  const std::string cut = entry(good()).substr(0, 5);  // inside the shape message
  EXPECT_EQ(problem(table({{"", header(1)}, {"x", cut}}), kData),
            "tensor 'x': a length-delimited protobuf field runs off the message");
  EXPECT_EQ(problem(table({{"", header(1)}, {"x", "\x08"}}), kData), "tensor 'x': a protobuf varint runs off the message");
  EXPECT_EQ(problem(table({{"", header(1)}, {"x", "\x0b"}}), kData), "tensor 'x': protobuf wire type 3 (field 1)");
  EXPECT_EQ(problem(table({{"", header(1)}, {"x", "\x0d\x01\x02\x03\x04"}}), kData),
            "tensor 'x': field 'dtype' has wire type 5, expected 0");
  EXPECT_EQ(problem(table({{"", "\x08\x80\x80"}}), kData), "the header entry: a protobuf varint runs off the message");
  // Unknown fields are skipped, as protobuf does.
  EXPECT_EQ(problem(table({{"", header(1) + pb_varint(15, 7) + pb_bytes(16, "zz")}, {"x", entry(good()) + pb_fixed32(9, 1)}}), kData),
            "(accepted)");
}

TEST(TfCheckpointBuilt, KeysOutOfOrderOrSharingTooMuch) {
  EXPECT_EQ(problem(table({{"", header(1)}, {"y", entry(good())}, {"x", entry(good())}}), kData),
            "the data block at offset 0: keys are not in strictly increasing order at byte " +
                std::to_string(block({{"", header(1)}, {"y", entry(good())}}).size() - 12));
  // An entry sharing 5 bytes of a previous key of 1 byte.
  std::string raw = varint(0) + varint(1) + varint(0) + "a";
  const size_t second = raw.size();
  raw += varint(5) + varint(1) + varint(0) + "b";
  raw += u32(0) + u32(1);
  EXPECT_EQ(problem(table_of_block(raw), kData),
            "the data block at offset 0: the entry at byte " + std::to_string(second) +
                " shares 5 key bytes, more than the previous key has");
  // The first entry of a block must not share anything.
  const std::string first_shares = varint(1) + varint(1) + varint(0) + "a" + u32(0) + u32(1);
  EXPECT_NE(problem(table_of_block(first_shares), kData).find("shares 1 key bytes"), std::string::npos);
  // Key and value longer than what is left of the block.
  const std::string long_value = varint(0) + varint(1) + varint(200) + "a" + u32(0) + u32(1);
  EXPECT_NE(problem(table_of_block(long_value), kData).find("runs off the block"), std::string::npos);
}

TEST(TfCheckpointBuilt, HostilePrefixChainIsCapped) {
  // Every entry repeats the previous key and adds one byte: 4 bytes of file per key,
  // keys of ever greater length (quadratic memory) unless capped.
  std::string raw;
  const int n = 3000;
  for (int i = 0; i < n; ++i) raw += varint(i) + varint(1) + varint(0) + "a";
  raw += u32(0) + u32(1);
  EXPECT_NE(problem(table_of_block(raw), kData).find("a hostile prefix-compression chain"), std::string::npos);
}

TEST(TfCheckpointBuilt, BlockHandlesAndLayout) {
  std::string file;
  const std::string data = append_block(file, block({{"", header(1)}}));
  const std::string meta = append_block(file, block({}));
  // Two index entries pointing at the same data block: read twice, refused.
  const std::string twice = append_block(file, block({{"a", data}, {"b", data}}));
  EXPECT_NE(problem(file + footer(meta, twice), "").find("overlaps or precedes the previous one"), std::string::npos);
  // A handle past the footer.
  EXPECT_NE(problem(file + footer(meta, handle(10, 1u << 20)), "").find("does not lie before the footer"),
            std::string::npos);
  EXPECT_NE(problem(file + footer(meta, handle(~uint64_t{0}, 8)), "").find("does not lie before the footer"),
            std::string::npos);
  // A handle that is not two varints.
  EXPECT_EQ(problem(file + footer(std::string(40, '\xff'), ""), ""), "the footer's block handles are malformed");
  // Snappy through the builder too.
  EXPECT_NE(problem(table({{"", header(1)}}, 1), "").find("is snappy-compressed"), std::string::npos);
}

// --- the seed corpus, through the fuzz target's entry point ---------------------------------

TEST(TfCheckpointFuzzCorpusReplay, EveryCorpusFileRunsCleanly) {
  const auto files = test::fuzz_corpus_files("tf_checkpoint");
  ASSERT_GE(files.size(), 8u) << "the seed corpus is missing or nearly empty";
  for (const auto& path : files) {
    SCOPED_TRACE(path.filename().string());
    const auto b = test::read_file(path.string());
    EXPECT_LE(b.size(), 4096u) << "corpus files stay small";
    EXPECT_EQ(LLVMFuzzerTestOneInput(b.data(), b.size()), 0);
  }
}

TEST(TfCheckpointFuzzCorpusReplay, ValidFilesAcceptedBadFilesRefusedForTheirReason) {
  const std::map<std::string, std::string> reasons = {
      {"bad_block_crc.bin", "CRC-32C mismatch"},
      {"bad_magic.bin", "bad magic"},
      {"bad_restart_out_of_range.bin", "restart point 1"},
      {"bad_snappy.bin", "snappy-compressed"},
      {"bad_tensor_past_data.bin", "past its end"},
      {"bad_truncated_footer.bin", "too short for a LevelDB table"},
      {"bad_varint_off_block.bin", "varint running off the block"},
  };
  int valid = 0, bad = 0;
  for (const auto& path : test::fuzz_corpus_files("tf_checkpoint")) {
    const std::string name = path.filename().string();
    SCOPED_TRACE(name);
    const auto b = test::read_file(path.string());
    ASSERT_GE(b.size(), 4u);
    uint32_t n;
    std::memcpy(&n, b.data(), 4);
    ASSERT_LE(n, b.size() - 4);
    const std::string e = test::error_of([&] {
      TfCheckpoint::from_memory({b.data() + 4, n}, {b.data() + 4 + n, b.size() - 4 - n}, name);
    });
    if (name.rfind("valid_", 0) == 0) {
      EXPECT_EQ(e, "(no error)");
      ++valid;
    } else {
      ASSERT_TRUE(reasons.count(name)) << "a bad_ corpus file without an expected reason here";
      EXPECT_CONTAINS(e, name + ": ");
      EXPECT_CONTAINS(e, reasons.at(name));
      ++bad;
    }
  }
  EXPECT_EQ(valid, 2);
  EXPECT_EQ(bad, static_cast<int>(reasons.size()));
}

}  // namespace
}  // namespace hl
