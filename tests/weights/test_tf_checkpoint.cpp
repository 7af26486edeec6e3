// The TensorFlow V2 checkpoint reader (weights/tf_checkpoint.h) against TensorFlow:
// the fixtures of tests/weights/tf_fixtures/ were saved by tf.compat.v1.train.Saver and
// their expected values read back by TensorFlow's own checkpoint reader
// (tests/weights/make_tf_checkpoint_fixtures.py); hl must read the same names, dtypes,
// shapes and values, exactly (the float32 conversion is numpy's astype, round to nearest).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "support/test_support.h"
#include "weights/crc32c.h"
#include "weights/tf_checkpoint.h"

namespace hl {
namespace {

std::string fixture(const std::string& name) {
  return (test::source_dir() / "tests" / "weights" / "tf_fixtures" / name).string();
}

// numpy's dtype names as TensorFlow reports them -> the reader's names.
const std::map<std::string, std::string> kDTypeNames = {
    {"float32", "F32"}, {"float64", "F64"}, {"float16", "F16"}, {"bfloat16", "BF16"}, {"int8", "I8"},
    {"int16", "I16"},   {"int32", "I32"},   {"int64", "I64"},   {"uint8", "U8"},      {"bool", "BOOL"},
    {"string", "STRING"},
};

float expected_value(const nlohmann::json& v) {
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s == "inf") return INFINITY;
    if (s == "-inf") return -INFINITY;
    return NAN;
  }
  return static_cast<float>(v.get<double>());  // exact: the JSON holds float32 values
}

void expect_reads_as_tensorflow(const std::string& name, size_t min_tensors) {
  SCOPED_TRACE(name);
  std::ifstream in(fixture(name + ".expected.json"));
  ASSERT_TRUE(in) << "missing fixture " << name;
  const nlohmann::json expected = nlohmann::json::parse(in);
  const TfCheckpoint ckpt = TfCheckpoint::open(fixture(name));
  const auto& tensors = ckpt.tensors();
  ASSERT_EQ(tensors.size(), expected["tensors"].size());
  ASSERT_GE(tensors.size(), min_tensors);
  for (size_t i = 0; i < tensors.size(); ++i) {
    const nlohmann::json& e = expected["tensors"][i];
    const TfTensorInfo& t = tensors[i];
    SCOPED_TRACE(t.name.substr(0, 60));
    EXPECT_EQ(t.name, e["name"].get<std::string>());  // both sorted by name
    EXPECT_EQ(t.dtype_name, kDTypeNames.at(e["dtype"].get<std::string>()));
    EXPECT_EQ(t.shape, e["shape"].get<std::vector<int64_t>>());
    if (e.contains("strings_hex")) {
      std::vector<std::string> want;
      for (const auto& h : e["strings_hex"]) {
        std::string bytes;
        const std::string hex = h.get<std::string>();
        for (size_t k = 0; k + 1 < hex.size(); k += 2) bytes += static_cast<char>(std::stoi(hex.substr(k, 2), nullptr, 16));
        want.push_back(bytes);
      }
      EXPECT_EQ(ckpt.read_strings(t.name), want);
      EXPECT_NE(test::error_of([&] { ckpt.read_f32(t.name); }).find("has dtype DT_STRING, which cannot be read as float32"),
                std::string::npos);
      continue;
    }
    const Tensor v = ckpt.read_f32(t.name);
    EXPECT_EQ(v.dtype(), DType::F32);
    EXPECT_EQ(v.shape().vec(), t.shape);
    const auto& values = e["values"];
    ASSERT_EQ(static_cast<size_t>(v.numel()), values.size());
    for (size_t k = 0; k < values.size(); ++k) {
      const float want = expected_value(values[k]);
      const float got = v.data<float>()[k];
      // Bit-exact, so that -0.0 and 0.0 differ and inf equals inf.
      EXPECT_EQ(std::memcmp(&got, &want, 4), 0) << "element " << k << ": got " << got << ", TensorFlow " << want;
    }
  }
}

TEST(TfCheckpointGolden, BasicEveryDTypeScalarEmptyAndConv3dKernel) { expect_reads_as_tensorflow("basic", 35); }
TEST(TfCheckpointGolden, MultiblockIndex) { expect_reads_as_tensorflow("multiblock", 420); }
TEST(TfCheckpointGolden, TwoShards) { expect_reads_as_tensorflow("sharded", 4); }

// TensorFlow 2 object-based checkpoints (tf.train.Checkpoint): strings, among them the
// serialized object graph, whose CRC TensorFlow computes over its own string encoding.
TEST(TfCheckpointGolden, ObjectCheckpointWithStrings) { expect_reads_as_tensorflow("object", 3); }
TEST(TfCheckpointGolden, EmptyStringTensor) { expect_reads_as_tensorflow("object_empty_text", 3); }

TEST(TfCheckpointGolden, ShardedFixtureUsesBothShards) {
  const TfCheckpoint ckpt = TfCheckpoint::open(fixture("sharded"));
  EXPECT_EQ(ckpt.num_shards(), 2);
  std::set<int64_t> shards;
  for (const auto& t : ckpt.tensors()) shards.insert(t.shard);
  EXPECT_EQ(shards, (std::set<int64_t>{0, 1}));
  EXPECT_EQ(ckpt.shard_path(1), fixture("sharded") + ".data-00001-of-00002");
}

// The fixture really exercises several data blocks: the index block of a TensorFlow
// table has one entry per data block, and (restart interval 1) one restart per entry.
// Read here from the footer by hand, independently of the reader.
TEST(TfCheckpointGolden, MultiblockFixtureHasSeveralDataBlocks) {
  const std::vector<uint8_t> b = test::read_file(fixture("multiblock.index"));
  ASSERT_GT(b.size(), 48u);
  const uint8_t* p = b.data() + b.size() - 48;
  auto varint = [&p] {
    uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
      const uint8_t c = *p++;
      v |= uint64_t{c & 0x7Fu} << shift;
      if (!(c & 0x80)) return v;
    }
  };
  varint(), varint();  // the metaindex handle
  const uint64_t index_offset = varint(), index_size = varint();
  ASSERT_LE(index_offset + index_size, b.size());
  uint32_t restarts;
  std::memcpy(&restarts, b.data() + index_offset + index_size - 4, 4);
  EXPECT_GE(restarts, 2u);
}

TEST(TfCheckpointGolden, OpensByPrefixOrIndexPathAlike) {
  const TfCheckpoint a = TfCheckpoint::open(fixture("basic"));
  const TfCheckpoint b = TfCheckpoint::open(fixture("basic.index"));
  EXPECT_EQ(a.prefix(), b.prefix());
  ASSERT_EQ(a.tensors().size(), b.tensors().size());
  EXPECT_EQ(a.total_bytes(), test::read_file(fixture("basic.index")).size() +
                                 test::read_file(fixture("basic.data-00000-of-00001")).size());
  EXPECT_TRUE(looks_like_tf_checkpoint(fixture("basic")));
  EXPECT_TRUE(looks_like_tf_checkpoint(fixture("basic.index")));
  EXPECT_FALSE(looks_like_tf_checkpoint(fixture("basic.data-00000-of-00001")));
  EXPECT_FALSE(looks_like_tf_checkpoint(fixture("no-such-checkpoint")));
}

TEST(TfCheckpointGolden, AbsentTensorIsAClearError) {
  const TfCheckpoint ckpt = TfCheckpoint::open(fixture("basic"));
  EXPECT_EQ(ckpt.find("im/conv9/weights"), nullptr);
  const std::string e = test::error_of([&] { ckpt.read_f32("im/conv9/weights"); });
  EXPECT_NE(e.find("basic.index"), std::string::npos) << e;
  EXPECT_NE(e.find("has no tensor 'im/conv9/weights'"), std::string::npos) << e;
}

// f64 -> f32 near the top of the f32 range, as IEEE 754 rounds (round to nearest even:
// FLT_MAX's significand is odd, so the tie FLT_MAX + 2^103 goes to infinity; numpy's
// astype(float32) gives the same values). A plain cast of these is undefined behaviour.
TEST(TfCheckpointGolden, F64BeyondTheF32RangeRoundsAsIeee) {
  const double fmax = 3.4028234663852886e38;  // FLT_MAX
  const double values[] = {fmax + 0x1p102, fmax + 0x1p103, -(fmax + 0x1p103), 1.7976931348623157e308,
                           fmax + 0x1p103 - 0x1p75, -1e-300};
  const float want[] = {3.4028234663852886e38f, INFINITY, -INFINITY, INFINITY, 3.4028234663852886e38f, -0.0f};
  std::string data(reinterpret_cast<const char*>(values), sizeof values);
  // One-entry index written by hand: header {num_shards: 1}, entry {dtype: DT_DOUBLE,
  // shape [6], size 48, crc32c}. Restart interval 1; LevelDB trailers and footer.
  auto varint = [](uint64_t v) {
    std::string s;
    for (; v >= 0x80; v >>= 7) s += static_cast<char>((v & 0x7F) | 0x80);
    return s + static_cast<char>(v);
  };
  auto u32 = [](uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); };
  const uint32_t crc = crc32c::mask(crc32c::value(data.data(), data.size()));
  const std::string head = "\x08\x01";
  const std::string entry = std::string("\x08\x02\x12\x04\x12\x02\x08\x06\x28\x30\x35") + u32(crc);
  auto block = [&](const std::vector<std::pair<std::string, std::string>>& kv) {
    std::string s, r;
    for (const auto& [k, v] : kv) {
      r += u32(static_cast<uint32_t>(s.size()));
      s += varint(0) + varint(k.size()) + varint(v.size()) + k + v;
    }
    return s + (kv.empty() ? u32(0) : r) + u32(static_cast<uint32_t>(std::max<size_t>(kv.size(), 1)));
  };
  std::string file;
  auto append = [&](const std::string& contents) {
    const std::string h = varint(file.size()) + varint(contents.size());
    const std::string typed = contents + '\0';
    file += typed + u32(crc32c::mask(crc32c::value(typed.data(), typed.size())));
    return h;
  };
  const std::string data_handle = append(block({{"", head}, {"x", entry}}));
  std::string footer = append(block({}));
  footer += append(block({{"x", data_handle}}));
  footer.resize(40, '\0');
  file += footer + u32(0x8b80fb57u) + u32(0xdb477524u);
  const TfCheckpoint c = TfCheckpoint::from_memory({reinterpret_cast<const uint8_t*>(file.data()), file.size()},
                                                   {reinterpret_cast<const uint8_t*>(data.data()), data.size()}, "f64");
  const Tensor t = c.read_f32("x");
  ASSERT_EQ(t.numel(), 6);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(std::memcmp(&t.data<float>()[i], &want[i], 4), 0) << i << ": " << t.data<float>()[i];
}

// CRC-32C against the check value published with the algorithm (RFC 3720 B.4 /
// the "CRC catalogue": crc32c("123456789") = 0xe3069283) and LevelDB's masking.
TEST(Crc32c, CheckValueAndMask) {
  EXPECT_EQ(crc32c::value("123456789", 9), 0xe3069283u);
  EXPECT_EQ(crc32c::value("", 0), 0u);
  // 32 zero bytes and 32 0xFF bytes: RFC 3720 B.4.
  const std::string zeros(32, '\0'), ones(32, '\xff');
  EXPECT_EQ(crc32c::value(zeros.data(), 32), 0x8a9136aau);
  EXPECT_EQ(crc32c::value(ones.data(), 32), 0x62a8ab43u);
  // Split anywhere: extend() continues.
  EXPECT_EQ(crc32c::extend(crc32c::value("12345", 5), "6789", 4), 0xe3069283u);
  for (uint32_t v : {0u, 1u, 0xe3069283u, 0xffffffffu}) EXPECT_EQ(crc32c::unmask(crc32c::mask(v)), v);
  EXPECT_NE(crc32c::mask(0xe3069283u), 0xe3069283u);
}

}  // namespace
}  // namespace hl
