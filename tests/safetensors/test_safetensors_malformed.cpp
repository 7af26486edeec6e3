// Malformed safetensors files, each built here byte by byte, each rejected with a
// message that names the file and the specific rule it breaks (docs/formats.md).
#include <sys/stat.h>

#include <algorithm>

#include "engine/safetensors.h"
#include "st_test_util.h"
#include "support/test_support.h"

namespace hl {
namespace {

using test::st_file;
using test::st_file_with_length;

struct Malformed {
  const char* label;            // also the file's name
  std::vector<uint8_t> bytes;
  const char* expected;         // a substring of the problem
};

std::vector<uint8_t> zeros(size_t n) { return std::vector<uint8_t>(n, 0); }

// `{"a": <entry>}` with the given entry text.
std::string one(const std::string& entry) { return R"({"a":)" + entry + "}"; }

// "1,1,...,1": a shape of n ones.
std::string ones(int n) {
  std::string s = "1";
  for (int i = 1; i < n; ++i) s += ",1";
  return s;
}

const std::string kU8x4 = R"({"dtype":"U8","shape":[4],"data_offsets":[0,4]})";

std::vector<Malformed> cases() {
  return {
      {"empty_file", {}, "file is 0 bytes: too short for the 8-byte header length"},
      {"truncated_length", {0x10, 0, 0}, "file is 3 bytes: too short for the 8-byte header length"},
      {"length_over_cap", st_file_with_length(100'000'001, "{}"), "header length 100000001 exceeds the 100000000-byte limit"},
      {"length_huge", st_file_with_length(~uint64_t{0}, "{}"), "exceeds the 100000000-byte limit"},
      {"length_past_end", st_file_with_length(64, R"({"a":1})"), "header length 64 runs past the end of the file (15 bytes)"},
      {"header_empty", st_file(""), "header is empty"},
      {"invalid_utf8", st_file("{\"\xff\":1}"), "header is not valid UTF-8 (at byte 2 of the header)"},
      {"overlong_utf8", st_file("{\"\xc0\xaf\":1}"), "header is not valid UTF-8"},
      {"surrogate_utf8", st_file("{\"\xed\xa0\x80\":1}"), "header is not valid UTF-8"},
      {"invalid_json", st_file(R"({"a":{"dtype":"U8",)"), "header is not valid JSON"},
      {"trailing_garbage", st_file("{} x"), "header is not valid JSON"},
      {"json_array", st_file("[1, 2]"), "header does not start with '{'"},
      {"json_leading_space", st_file(" {}"), "header does not start with '{'"},
      {"entry_not_object", st_file(R"({"a":1})"), "entry of tensor 'a' is not an object"},
      {"missing_dtype", st_file(one(R"({"shape":[0],"data_offsets":[0,0]})")), "tensor 'a' has no dtype"},
      {"missing_shape", st_file(one(R"({"dtype":"U8","data_offsets":[0,0]})")), "tensor 'a' has no shape"},
      {"missing_offsets", st_file(one(R"({"dtype":"U8","shape":[0]})")), "tensor 'a' has no data_offsets"},
      {"extra_key", st_file(one(R"({"dtype":"U8","shape":[0],"data_offsets":[0,0],"stride":[1]})")),
       "tensor 'a' has an unknown field 'stride'"},
      {"repeated_key", st_file(one(R"({"dtype":"U8","dtype":"U8","shape":[0],"data_offsets":[0,0]})")),
       "tensor 'a' has two 'dtype' fields"},
      {"unknown_dtype", st_file(one(R"({"dtype":"F128","shape":[1],"data_offsets":[0,16]})"), zeros(16)),
       "unknown dtype 'F128' for tensor 'a'"},
      {"lowercase_dtype", st_file(one(R"({"dtype":"f32","shape":[1],"data_offsets":[0,4]})"), zeros(4)),
       "unknown dtype 'f32'"},
      {"dtype_not_string", st_file(one(R"({"dtype":4,"shape":[1],"data_offsets":[0,4]})"), zeros(4)),
       "dtype of tensor 'a' is not a string"},
      {"negative_shape", st_file(one(R"({"dtype":"U8","shape":[-1],"data_offsets":[0,0]})")),
       "shape of tensor 'a' has a negative entry -1"},
      {"negative_zero_shape", st_file(one(R"({"dtype":"U8","shape":[-0],"data_offsets":[0,0]})")),
       "shape of tensor 'a' has a negative entry -0"},
      {"fractional_shape", st_file(one(R"({"dtype":"U8","shape":[1.5],"data_offsets":[0,0]})")),
       "shape of tensor 'a' has an entry 1.5 that is not a non-negative integer"},
      {"string_shape", st_file(one(R"({"dtype":"U8","shape":["2"],"data_offsets":[0,2]})"), zeros(2)),
       "shape of tensor 'a' holds a value that is not an integer"},
      {"shape_not_array", st_file(one(R"({"dtype":"U8","shape":2,"data_offsets":[0,2]})"), zeros(2)),
       "shape of tensor 'a' is not an array"},
      {"shape_entry_too_large", st_file(one(R"({"dtype":"U8","shape":[9223372036854775808],"data_offsets":[0,0]})")),
       "has an entry 9223372036854775808 that is too large"},
      {"shape_overflow", st_file(one(R"({"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]})")),
       "shape [4294967296, 4294967296] of tensor 'a' overflows"},
      {"shape_bits_overflow", st_file(one(R"({"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]})")),
       "overflows: its size in bits exceeds 64 bits"},
      {"too_many_dims", st_file(one(R"({"dtype":"U8","shape":[)" + ones(65) + R"(],"data_offsets":[0,1]})"), {0}),
       "tensor 'a' has more than 64 dimensions"},
      {"size_mismatch", st_file(one(R"({"dtype":"F32","shape":[2],"data_offsets":[0,4]})"), zeros(4)),
       "tensor 'a': 8 bytes for shape [2] of F32 but data_offsets span 4"},
      {"subbyte_not_whole", st_file(one(R"({"dtype":"F4","shape":[3],"data_offsets":[0,2]})"), zeros(2)),
       "3 elements of F4 do not fill a whole number of bytes"},
      {"begin_after_end", st_file(one(R"({"dtype":"U8","shape":[0],"data_offsets":[4,0]})"), zeros(4)),
       "tensor 'a': data_offsets [4, 0] end before they begin"},
      {"offsets_one_entry", st_file(one(R"({"dtype":"U8","shape":[0],"data_offsets":[0]})")),
       "data_offsets of tensor 'a' has 1 entries, not 2"},
      {"offsets_three_entries", st_file(one(R"({"dtype":"U8","shape":[0],"data_offsets":[0,0,0]})")),
       "data_offsets of tensor 'a' has more than 2 entries"},
      {"offsets_negative", st_file(one(R"({"dtype":"U8","shape":[0],"data_offsets":[-4,0]})")),
       "data_offsets of tensor 'a' has a negative entry -4"},
      {"overlap",
       st_file(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})",
               zeros(6)),
       "tensor 'b' overlaps tensor 'a'"},
      {"same_range_twice",
       st_file(R"({"a":)" + kU8x4 + R"(,"b":)" + kU8x4 + "}", zeros(4)), "overlaps tensor"},
      {"gap",
       st_file(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}})",
               zeros(6)),
       "gap of 2 bytes between tensors 'a' and 'b'"},
      {"not_from_zero", st_file(one(R"({"dtype":"U8","shape":[2],"data_offsets":[2,4]})"), zeros(4)),
       "data does not start at offset 0: the first tensor 'a' begins at byte 2"},
      {"bytes_after_last", st_file(one(kU8x4), zeros(7)), "3 bytes after the last tensor"},
      {"bytes_without_tensors", st_file("{}", zeros(1)), "1 byte of data but no tensors"},
      {"data_truncated", st_file(one(kU8x4), zeros(3)),
       "tensor 'a' ends at byte 4 of the data, but the file holds only 3 data bytes (truncated?)"},
      {"duplicate_name", st_file(R"({"a":)" + kU8x4 + R"(,"a":)" + kU8x4 + "}", zeros(8)),
       "duplicate tensor name 'a'"},
      {"duplicate_metadata", st_file(R"({"__metadata__":{},"__metadata__":{}})"), "duplicate __metadata__"},
      {"metadata_value_number", st_file(R"({"__metadata__":{"fps":29.97}})"),
       "metadata value of 'fps' is not a string"},
      {"metadata_value_object", st_file(R"({"__metadata__":{"k":{"x":"y"}}})"),
       "metadata value of 'k' is not a string"},
      {"metadata_not_object", st_file(R"({"__metadata__":["k","v"]})"), "__metadata__ is not an object of strings"},
      {"metadata_duplicate_key", st_file(R"({"__metadata__":{"k":"1","k":"2"}})"), "duplicate metadata key 'k'"},
      {"name_with_control_chars", st_file("{\"a\\nb\":1}"), "entry of tensor 'a\\x0ab' is not an object"},
  };
}

class SafetensorsMalformed : public ::testing::TestWithParam<Malformed> {};

TEST_P(SafetensorsMalformed, RejectedWithASpecificMessage) {
  const Malformed& m = GetParam();
  test::TempDir dir;
  const std::string path = dir.file(std::string(m.label) + ".safetensors");
  test::write_file(path, m.bytes);
  try {
    SafetensorsFile::open(path);
    FAIL() << m.label << ": accepted";
  } catch (const FormatError& e) {
    const std::string what = e.what();
    EXPECT_EQ(e.path(), path);
    EXPECT_EQ(what.rfind(path + ": ", 0), 0u) << "the message starts with the file: " << what;
    EXPECT_NE(e.problem().find(m.expected), std::string::npos)
        << m.label << "\n  expected: " << m.expected << "\n  actual:   " << e.problem();
  }
  // The in-memory reader applies the same rules.
  EXPECT_THROW(SafetensorsFile::from_bytes(m.bytes, m.label), FormatError);
}

INSTANTIATE_TEST_SUITE_P(Files, SafetensorsMalformed, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return std::string(info.param.label); });

TEST(SafetensorsMalformedPaths, MissingFileDirectoryAndFifo) {
  test::TempDir dir;
  auto expect_problem = [](const std::string& path, const std::string& expected) {
    try {
      SafetensorsFile::open(path);
      FAIL() << path << ": accepted";
    } catch (const FormatError& e) {
      EXPECT_EQ(e.path(), path);
      EXPECT_NE(e.problem().find(expected), std::string::npos) << e.what();
    }
  };
  expect_problem(dir.file("missing.safetensors"), "cannot open: No such file or directory");
  expect_problem(dir.path().string(), "is a directory, not a file");
  const std::string fifo = dir.file("fifo.safetensors");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  expect_problem(fifo, "is not a regular file");  // and must not block waiting for a writer
}

TEST(SafetensorsMalformedPaths, HugeNameIsShortenedInTheMessage) {
  const std::string name(10000, 'n');
  try {
    SafetensorsFile::from_bytes(st_file("{\"" + name + "\":1}"), "long");
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_LT(std::string(e.what()).size(), 300u) << "a 10,000-byte name must not flood the message";
    EXPECT_NE(std::string(e.what()).find("(10000 bytes)"), std::string::npos) << e.what();
  }
}

TEST(SafetensorsMalformedPaths, AcceptsWhatTheReferenceAccepts) {
  // Edge cases that are valid: padding after the JSON, null metadata, empty tensors
  // sharing an offset, a tensor of zero elements with huge dimensions.
  EXPECT_NO_THROW(SafetensorsFile::from_bytes(st_file("{}    "), "padded"));
  EXPECT_NO_THROW(SafetensorsFile::from_bytes(st_file(R"({"__metadata__":null})"), "null-metadata"));
  const auto f = SafetensorsFile::from_bytes(
      st_file(R"({"e":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},)"
              R"("a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
              R"("z":{"dtype":"I64","shape":[0,9223372036854775807],"data_offsets":[2,2]}})",
              {1, 2}),
      "empties");
  EXPECT_EQ(f.tensors().size(), 3u);
  EXPECT_EQ(f.info("a").nbytes(), 2u);
}

}  // namespace
}  // namespace hl
