// The PyTorch reader on malformed and hostile input: every file must be refused with an
// hl::FormatError that names the file and the specific problem, and nothing may crash,
// hang or allocate more than the file justifies (this suite also runs under ASan/UBSan).
//
// Pickles are built here opcode by opcode (the expected behaviour follows from the
// pickle format and Python's semantics, not from our reader); zip archives come from the
// seed corpus tests/fuzz/corpus/torch (written by torch.save and Python's zipfile through
// tests/fuzz/make_seed_corpus.py) and are truncated or corrupted here. The corpus itself
// is replayed through the fuzz target's entry point: valid_* accepted, bad_* refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <random>

#include "support/test_support.h"
#include "weights/torch_file.h"
#include "weights/torch_zip.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace hl {
namespace {

namespace fs = std::filesystem;

// --- pickle builders -------------------------------------------------------------------

std::string le(uint64_t v, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += static_cast<char>((v >> (8 * i)) & 0xFF);
  return s;
}
std::string sb(const std::string& s) { return "U" + le(s.size(), 1) + s; }  // SHORT_BINSTRING
std::string uni(const std::string& s) { return "X" + le(s.size(), 4) + s; }  // BINUNICODE
std::string glob(const std::string& m, const std::string& n) { return "c" + m + "\n" + n + "\n"; }
std::string i32(int32_t v) { return "J" + le(static_cast<uint32_t>(v), 4); }
std::string long1(int64_t v) { return "\x8a\x08" + le(static_cast<uint64_t>(v), 8); }
std::string tup(std::initializer_list<std::string> items) {
  std::string s = "(";
  for (const auto& i : items) s += i;
  return s + "t";
}
std::string ints(const std::vector<int64_t>& v) {
  std::string s = "(";
  for (int64_t x : v) s += long1(x);
  return s + "t";
}
std::string pickle(const std::string& body) { return "\x80\x02" + body + "."; }
const std::string kEmptyOrderedDict = glob("collections", "OrderedDict") + ")R";

std::string pid(const std::string& key, const std::string& cls, int64_t numel) {
  return tup({sb("storage"), glob("torch", cls), sb(key), sb("cpu"), long1(numel), "N"}) + "Q";
}
std::string tensor(const std::string& key, const std::string& cls, int64_t numel, int64_t offset,
                   const std::vector<int64_t>& size, const std::vector<int64_t>& stride) {
  return glob("torch._utils", "_rebuild_tensor_v2") +
         tup({pid(key, cls, numel), long1(offset), ints(size), ints(stride), "\x89", kEmptyOrderedDict}) + "R";
}
std::string state(std::initializer_list<std::pair<std::string, std::string>> entries) {
  std::string s = "}(";
  for (const auto& [k, v] : entries) s += sb(k) + v;
  return s + "u";
}

struct StorageData {
  std::string key;
  int64_t count;      // the element count written before the bytes
  std::string bytes;  // raw data
};

std::string f32_bytes(std::initializer_list<float> v) {
  std::string s;
  for (float f : v) s.append(reinterpret_cast<const char*>(&f), 4);
  return s;
}

const std::string kLittleEndian = "}(" + sb("little_endian") + "\x88" + "u";

// The first three pickles of a legacy file: magic number, protocol version, sys_info.
std::string legacy_head(const std::string& sys_info = kLittleEndian, int protocol = 1001) {
  std::string s = pickle(std::string("\x8a\x0a") + "\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19");
  s += pickle("M" + le(static_cast<uint32_t>(protocol), 2));
  return s + pickle(sys_info);
}

// A legacy torch.save file: the head, the object, the keys, the storages.
std::string legacy(const std::string& object_body, const std::vector<StorageData>& storages,
                   const std::string& sys_info = kLittleEndian, int protocol = 1001) {
  std::string s = legacy_head(sys_info, protocol) + pickle(object_body);
  std::string keys = "](";
  for (const auto& st : storages) keys += sb(st.key);
  s += pickle(keys + "e");
  for (const auto& st : storages) s += le(static_cast<uint64_t>(st.count), 8) + st.bytes;
  return s;
}

const StorageData kFour{"0", 4, f32_bytes({1, 2, 3, 4})};

std::span<const uint8_t> span_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// The problem read_torch_bytes reports for `bytes`, or "(accepted)". Any exception other
// than hl::FormatError fails the test.
std::string problem(std::span<const uint8_t> bytes, const std::string& name = "hostile.pth") {
  try {
    read_torch_bytes(bytes, name);
  } catch (const FormatError& e) {
    EXPECT_EQ(e.path(), name);
    EXPECT_EQ(std::string(e.what()).rfind(name + ": ", 0), 0u) << e.what();
    return e.problem();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not an hl::FormatError: " << e.what();
    return e.what();
  }
  return "(accepted)";
}
std::string problem(const std::string& bytes) { return problem(span_of(bytes)); }

std::vector<uint8_t> corpus(const std::string& name) {
  return test::read_file((test::source_dir() / "tests" / "fuzz" / "corpus" / "torch" / name).string());
}

// Zip-format files need libzip; a build without it refuses them (tested in the replay).
#define HL_REQUIRE_LIBZIP()                                                             \
  do {                                                                                  \
    if (!torch_zip::available()) GTEST_SKIP() << "this build has no libzip (zip-format torch files)"; \
  } while (0)

#define EXPECT_PROBLEM(bytes, fragment)                                              \
  do {                                                                               \
    const std::string p_ = problem(bytes);                                           \
    EXPECT_NE(p_.find(fragment), std::string::npos) << "problem was: " << p_;        \
  } while (0)

// --- the value model, opcode by opcode ---------------------------------------------------

TEST(TorchPickle, EveryAllowedOpcodeGivesPythonsValue) {
  // Non-tensor entries land in `other` as Python's repr would print them.
  const std::string obj =
      "}q" + le(0, 1) + "(" + sb("neg") + i32(-5) + sb("b2") + "M" + le(1001, 2) + sb("big") + "\x8a\x09" + le(0, 8) +
      "\xc0" +  // -2^70
      sb("float") + "G" + "\x3f\xb9\x99\x99\x99\x99\x99\x9a" +  // 0.1, big-endian
      sb("sci") + "G" + "\x3e\xe4\xf8\xb5\x88\xe3\x68\xf1" +    // 1e-05
      sb("caf\xe9") + uni("caf\xc3\xa9") +                       // a latin-1 key, a UTF-8 value
      "T" + le(4, 4) + "none" + "N" + sb("flags") + "\x88\x89" + "\x86" + sb("t1") + "K\x07\x85" +
      sb("t3") + "K\x01K\x02K\x03\x87" + sb("t0") + ")" + sb("list") + "]r" + le(70000, 4) + "K\x01" "a(K\x02K\x03" "e" +
      sb("again") + "j" + le(70000, 4) + sb("od") + glob("collections", "OrderedDict") + ")\x81}b" + "u" +
      sb("late") + "K\x09s";
  const TorchFile f = read_torch_bytes(span_of(legacy(obj, {})), "values.pth");
  EXPECT_TRUE(f.tensors.empty());
  const std::map<std::string, std::string> want = {
      {"neg", "-5"},          {"b2", "1001"},        {"big", "-1180591620717411303424"},
      {"float", "0.1"},       {"sci", "1e-05"},      {"caf\xc3\xa9", "caf\xc3\xa9"},
      {"none", "None"},       {"flags", "(True, False)"}, {"t1", "(7,)"},
      {"t3", "(1, 2, 3)"},    {"t0", "()"},          {"list", "[1, 2, 3]"},
      {"again", "[1, 2, 3]"}, {"od", "{}"},          {"late", "9"}};
  EXPECT_EQ(f.other, want);
}

TEST(TorchPickle, DuplicateKeysKeepTheirPlaceAndTakeTheLastValue) {
  // As in Python: {'a': t1, 'b': t2, 'a': t3} is ordered a, b with a = t3; True == 1.
  const std::string obj = "}(" + sb("a") + tensor("0", "FloatStorage", 4, 0, {1}, {1}) + sb("b") +
                          tensor("0", "FloatStorage", 4, 1, {1}, {1}) + sb("a") +
                          tensor("0", "FloatStorage", 4, 3, {1}, {1}) + "K\x01" + sb("one") + "\x88" + sb("true") + "u";
  const TorchFile f = read_torch_bytes(span_of(legacy(obj, {kFour})), "dup.pth");
  ASSERT_EQ(f.tensors.size(), 2u);
  EXPECT_EQ(f.tensors[0].first, "a");
  EXPECT_EQ(f.tensors[0].second.data<float>()[0], 4.0f);
  EXPECT_EQ(f.tensors[1].first, "b");
  EXPECT_EQ(f.tensors[1].second.data<float>()[0], 2.0f);
  EXPECT_EQ(f.other, (std::map<std::string, std::string>{{"1", "true"}}));
}

TEST(TorchPickle, LongTextIsCutBetweenCharacters) {
  std::string e_acute;
  for (int i = 0; i < 3000; ++i) e_acute += "\xc3\xa9";  // 6000 bytes of two-byte characters
  const TorchFile f = read_torch_bytes(span_of(legacy(state({{"long", uni(e_acute)}}), {})), "long.pth");
  const std::string& text = f.other.at("long");
  ASSERT_GE(text.size(), 3u);
  EXPECT_LE(text.size(), 4096u + 3u);
  EXPECT_EQ(text.substr(text.size() - 3), "...");
  EXPECT_EQ((text.size() - 3) % 2, 0u) << "cut inside a character";
  EXPECT_EQ(text.substr(0, 4), "\xc3\xa9\xc3\xa9");
}

TEST(TorchPickle, SelfContainingListPrintsFinitely) {
  const auto bytes = corpus("valid_self_containing_list.pth");
  const TorchFile f = read_torch_bytes(bytes, "loop.pth");
  ASSERT_EQ(f.tensors.size(), 1u);
  const std::string& loop = f.other.at("loop");
  EXPECT_LT(loop.size(), 100u) << loop;
  EXPECT_NE(loop.find("[[[["), std::string::npos) << loop;
  EXPECT_NE(loop.find("..."), std::string::npos) << loop;
}

TEST(TorchPickle, StridedViewsAndConversionsFromHandBuiltFile) {
  // Storage 0: 6 floats 0..5 as a [2, 3]; the view [3, 2] with strides (1, 3) is its transpose.
  // Storage 1: Short values, converted to I32; storage 2: Bool bytes 0, 2, 1 -> U8 0, 1, 1.
  const StorageData f6{"0", 6, f32_bytes({0, 1, 2, 3, 4, 5})};
  const StorageData s3{"1", 3, le(static_cast<uint16_t>(-300), 2) + le(7, 2) + le(32767, 2)};
  const StorageData b3{"2", 3, std::string("\x00\x02\x01", 3)};
  const std::string obj = state({{"t", tensor("0", "FloatStorage", 6, 0, {3, 2}, {1, 3})},
                                 {"col", tensor("0", "FloatStorage", 6, 1, {2}, {3})},
                                 {"short", tensor("1", "ShortStorage", 3, 0, {3}, {1})},
                                 {"bool", tensor("2", "BoolStorage", 3, 0, {3}, {1})},
                                 {"scalar", tensor("0", "FloatStorage", 6, 5, {}, {})},
                                 {"empty", tensor("0", "FloatStorage", 6, 6, {0, 4}, {4, 1})}});
  const TorchFile f = read_torch_bytes(span_of(legacy(obj, {f6, s3, b3})), "views.pth");
  ASSERT_EQ(f.tensors.size(), 6u);
  const Tensor& t = f.tensors[0].second;
  EXPECT_EQ(t.shape(), Shape({3, 2}));
  EXPECT_EQ(std::vector<float>(t.data<float>(), t.data<float>() + 6), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  EXPECT_EQ(std::vector<float>(f.tensors[1].second.data<float>(), f.tensors[1].second.data<float>() + 2),
            (std::vector<float>{1, 4}));
  const Tensor& s = f.tensors[2].second;
  ASSERT_EQ(s.dtype(), DType::I32);
  EXPECT_EQ(std::vector<int32_t>(s.data<int32_t>(), s.data<int32_t>() + 3), (std::vector<int32_t>{-300, 7, 32767}));
  const Tensor& b = f.tensors[3].second;
  ASSERT_EQ(b.dtype(), DType::U8);
  EXPECT_EQ(std::vector<uint8_t>(b.data<uint8_t>(), b.data<uint8_t>() + 3), (std::vector<uint8_t>{0, 1, 1}));
  EXPECT_EQ(f.tensors[4].second.ndim(), 0);
  EXPECT_EQ(f.tensors[4].second.data<float>()[0], 5.0f);
  EXPECT_EQ(f.tensors[5].second.shape(), Shape({0, 4}));
}

// --- not a PyTorch file --------------------------------------------------------------------

TEST(TorchHostile, EmptyAndRandomBytes) {
  EXPECT_PROBLEM(std::string(), "empty file");
  std::mt19937 rng(2021);
  for (int i = 0; i < 300; ++i) {
    std::string bytes(1 + rng() % 2048, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng());
    if (i % 3 == 1) bytes.replace(0, std::min<size_t>(2, bytes.size()), "\x80\x02");
    if (i % 3 == 2) bytes = "PK\x03\x04" + bytes;
    EXPECT_NE(problem(bytes), "(accepted)");
  }
  EXPECT_PROBLEM(std::string("hello world"), "neither a zip signature");
  std::string tar(1024, '\0');
  tar.replace(0, 9, "model.pkl");
  tar.replace(257, 5, "ustar");
  EXPECT_PROBLEM(tar, "tar format of PyTorch < 0.1.10");
}

TEST(TorchHostile, FilesThatCannotBeOpened) {
  test::TempDir dir;
  const std::string missing = dir.file("missing.pth");
  try {
    read_torch_file(missing);
    ADD_FAILURE() << "no error";
  } catch (const FormatError& e) {
    EXPECT_EQ(e.path(), missing);
    EXPECT_NE(e.problem().find("cannot open"), std::string::npos) << e.what();
  }
  EXPECT_NE(test::error_of([&] { read_torch_file(dir.path().string()); }).find("is a directory"), std::string::npos);
  test::write_file(dir.file("empty.pth"), std::string());
  EXPECT_NE(test::error_of([&] { read_torch_file(dir.file("empty.pth")); }).find("empty file"), std::string::npos);
}

// --- the zip container -----------------------------------------------------------------------

TEST(TorchHostile, EveryTruncationOfAZipFileIsRefused) {
  HL_REQUIRE_LIBZIP();
  const auto zip = corpus("valid_zip.pth");
  ASSERT_GT(zip.size(), 500u);
  EXPECT_EQ(problem(zip), "(accepted)");
  for (size_t n = 1; n < zip.size(); ++n) {
    const std::string p = problem(std::span<const uint8_t>(zip.data(), n));
    EXPECT_NE(p, "(accepted)") << "truncated to " << n << " bytes";
  }
  EXPECT_NE(problem(std::span<const uint8_t>(zip.data(), zip.size() / 2)).find("not a readable zip archive"),
            std::string::npos);
}

TEST(TorchHostile, BrokenCentralDirectory) {
  HL_REQUIRE_LIBZIP();
  const auto zip = corpus("valid_zip.pth");
  // The end-of-central-directory record "PK\5\6" (entries at +10, u16; directory size at
  // +12 and offset at +16, u32) and, in torch's files, its ZIP64 twin "PK\6\6" (entries at
  // +32, directory size at +40 and offset at +48, u64), whose values libzip uses. Each case
  // changes a field in both.
  const auto find_last = [&](const char* sig) {
    for (size_t at = zip.size() - 4; at-- > 0;)
      if (std::memcmp(zip.data() + at, sig, 4) == 0) return at;
    return size_t{0};
  };
  const size_t eocd = find_last("PK\x05\x06"), eocd64 = find_last("PK\x06\x06");
  ASSERT_GT(eocd, 0u);
  uint32_t cd = 0;
  std::memcpy(&cd, zip.data() + eocd + 16, 4);
  enum Field { kEntries, kSize, kOffset };
  const auto with = [&](Field field, uint64_t value) {
    std::vector<uint8_t> z = zip;
    const size_t classic_at[] = {10, 12, 16}, classic_width[] = {2, 4, 4}, zip64_at[] = {32, 40, 48};
    std::memcpy(z.data() + eocd + classic_at[field], &value, classic_width[field]);
    if (eocd64 > 0) std::memcpy(z.data() + eocd64 + zip64_at[field], &value, 8);
    return z;
  };
  if (eocd64 > 0) std::memcpy(&cd, zip.data() + eocd64 + 48, 4);
  auto patched = [&](size_t at, std::initializer_list<uint8_t> bytes) {
    std::vector<uint8_t> z = zip;
    std::copy(bytes.begin(), bytes.end(), z.begin() + static_cast<std::ptrdiff_t>(at));
    return z;
  };
  const std::vector<std::vector<uint8_t>> broken = {
      with(kOffset, 0x7FFFFFFF),                   // directory offset past the end
      with(kOffset, cd + 1),                       // offset off by one
      with(kSize, 0xFFFF0),                        // directory size past the end
      with(kEntries, 0x40),                        // more entries than recorded
      patched(cd, {'X'}),                          // a directory record's signature
      patched(cd + 42, {0xF0, 0xFF, 0x00, 0x00}),  // first entry's local header offset
      patched(cd + 20, {0xFF, 0xFF, 0xFF, 0x0F}),  // first entry's compressed size
  };
  for (size_t i = 0; i < broken.size(); ++i) {
    const std::string p = problem(broken[i]);
    EXPECT_NE(p, "(accepted)") << "case " << i;
    std::printf("broken central directory, case %zu: %s\n", i, p.c_str());
  }
  // A flipped data byte fails the CRC check of its entry.
  // The entry's local header: name length at +26, extra length at +28, then name, extra, data.
  std::vector<uint8_t> flipped = zip;
  const std::string key = "archive/data/0";
  const auto it = std::search(flipped.begin(), flipped.end(), key.begin(), key.end());
  ASSERT_NE(it, flipped.end());
  const size_t header = static_cast<size_t>(it - flipped.begin()) - 30;
  const size_t data = header + 30 + (flipped[header + 26] | flipped[header + 27] << 8) +
                      (flipped[header + 28] | flipped[header + 29] << 8);
  ASSERT_LT(data, flipped.size());
  flipped[data] ^= 0x55;
  EXPECT_PROBLEM(flipped, "archive/data/0");
}

TEST(TorchHostile, ZipEntriesThatTorchNeverWrites) {
  HL_REQUIRE_LIBZIP();
  EXPECT_PROBLEM(corpus("bad_compressed.pth"), "is compressed (method 8)");
  EXPECT_PROBLEM(corpus("bad_missing_data_entry.pth"), "no 'archive/data/0'");
  EXPECT_PROBLEM(corpus("bad_data_entry_short.pth"), "'archive/data/0' holds 20 bytes, but its storage declares 6");
  EXPECT_PROBLEM(corpus("bad_big_endian.pth"), "big-endian");
  EXPECT_EQ(problem(corpus("valid_zip64.pth")), "(accepted)");
}

// --- legacy files --------------------------------------------------------------------------

TEST(TorchHostile, EveryTruncationOfALegacyFileIsRefused) {
  for (const char* name : {"valid_legacy.pth", "valid_py2_legacy.pth"}) {
    const auto file = corpus(name);
    EXPECT_EQ(problem(file), "(accepted)") << name;
    for (size_t n = 1; n < file.size(); ++n)
      EXPECT_NE(problem(std::span<const uint8_t>(file.data(), n)), "(accepted)") << name << " truncated to " << n;
    EXPECT_PROBLEM(std::span<const uint8_t>(file.data(), file.size() - 1), "runs past the end of the file");
  }
}

TEST(TorchHostile, LegacyHeaderPickles) {
  const std::string obj = state({{"w", tensor("0", "FloatStorage", 4, 0, {4}, {1})}});
  EXPECT_EQ(problem(legacy(obj, {kFour})), "(accepted)");
  EXPECT_PROBLEM(pickle("K\x05"), "not the magic number");
  EXPECT_PROBLEM(legacy(obj, {kFour}, "}(" + sb("little_endian") + "\x89" + "u"), "big-endian");
  EXPECT_PROBLEM(legacy(obj, {kFour}, "}"), "does not say whether the file is little-endian");
  EXPECT_PROBLEM(legacy(obj, {kFour}, "}(" + sb("little_endian") + "\x88" + "u", 1000), "not 1001");
  EXPECT_PROBLEM(legacy(obj, {kFour}) + "x", "1 bytes after the last storage");
  EXPECT_PROBLEM(legacy(obj, {}), "storage '0' has no data in the file");
  EXPECT_PROBLEM(legacy(obj, {kFour, kFour}), "listed twice");
  EXPECT_PROBLEM(legacy(obj, {{"9", 4, f32_bytes({1, 2, 3, 4})}}), "'9' has data in the file but no tensor names it");
  EXPECT_PROBLEM(legacy(obj, {{"0", 3, f32_bytes({1, 2, 3})}}), "holds 3 elements but its tensors declare 4");
}

// --- hostile pickles -------------------------------------------------------------------------

TEST(TorchHostile, GlobalsOutsideTheAllowlist) {
  EXPECT_PROBLEM(legacy(glob("os", "system") + tup({sb("touch /tmp/pwned")}) + "R", {}),
                 "GLOBAL 'os.system' is not allowed");
  EXPECT_PROBLEM(legacy(glob("builtins", "eval") + tup({sb("1+1")}) + "R", {}), "GLOBAL 'builtins.eval' is not allowed");
  EXPECT_PROBLEM(legacy(glob("__builtin__", "getattr") + ")R", {}), "'__builtin__.getattr' is not allowed");
  EXPECT_PROBLEM(legacy(glob("torch", "load") + ")R", {}), "'torch.load' is not allowed");
  EXPECT_PROBLEM(legacy(glob("torch._utils", "_rebuild_parameter_with_state") + ")R", {}), "not allowed");
  // Allowed GLOBALs that are not allowed REDUCE or NEWOBJ targets.
  EXPECT_PROBLEM(legacy(glob("torch", "FloatStorage") + ")R", {}), "REDUCE on torch.FloatStorage is not allowed");
  EXPECT_PROBLEM(legacy(glob("torch._utils", "_rebuild_tensor_v2") + ")\x81", {}),
                 "NEWOBJ on torch._utils._rebuild_tensor_v2 is not allowed");
  EXPECT_PROBLEM(legacy(sb("os") + ")R", {}), "REDUCE on a str");
  EXPECT_PROBLEM(legacy(glob("collections", "OrderedDict") + tup({sb("x")}) + "R", {}), "a list of pairs");
  EXPECT_PROBLEM(legacy("}" + glob("collections", "OrderedDict") + "b", {}), "BUILD on a dict");
}

TEST(TorchHostile, OpcodesOutsideTheAllowlist) {
  EXPECT_PROBLEM(legacy("\xff", {}), "unknown opcode 0xff");
  EXPECT_PROBLEM(legacy("i" + std::string("os\nsystem\n"), {}), "INST (0x69) is not allowed");
  EXPECT_PROBLEM(legacy(uni("os") + uni("system") + "\x93", {}), "STACK_GLOBAL (0x93) is not allowed");
  EXPECT_PROBLEM(legacy("\x95" + le(5, 8) + "N", {}), "FRAME (0x95) is not allowed");
  EXPECT_PROBLEM(legacy("P0\n", {}), "PERSID (0x50) is not allowed");
  EXPECT_PROBLEM(legacy("\x82\x01", {}), "EXT1");
}

TEST(TorchHostile, MalformedPickles) {
  EXPECT_PROBLEM(legacy_head() + "\x80\x02N", "the pickle ends without STOP");
  EXPECT_PROBLEM(legacy("NN", {}), "STOP with 2 values");
  EXPECT_PROBLEM(legacy("(N", {}), "STOP with 1 values and 1 marks");
  EXPECT_PROBLEM(legacy("h\x05", {}), "memo entry 5 was never stored");
  EXPECT_PROBLEM(legacy("q" + le(0, 1), {}), "BINPUT (0x71) on an empty stack");
  EXPECT_PROBLEM(legacy("N(\x86", {}), "TUPLE2 (0x86) on an empty stack");  // MARK hides the None
  EXPECT_PROBLEM(legacy("]N(s", {}), "on an empty stack");
  EXPECT_PROBLEM(legacy("X" + le(0xFFFFF, 4), {}), "BINUNICODE (0x58) needs 1048575 more bytes");
  EXPECT_PROBLEM(legacy("X\xff\xff\xff\xff", {}), "a string of 4294967295 bytes exceeds the limit");
  EXPECT_PROBLEM(legacy("T\xff\xff\xff\xff", {}), "negative length");
  EXPECT_PROBLEM(legacy("cos", {}), "GLOBAL operand without a newline");
  EXPECT_PROBLEM(legacy("N(NNu", {}), "SETITEMS (0x75) on a None");
  EXPECT_PROBLEM(legacy("}(NNNu", {}), "odd number");
  EXPECT_PROBLEM(legacy("}(" + tup({}) + "Nu", {}), "a dict key of type tuple");
  EXPECT_PROBLEM(legacy("]", {}), "holds a list, not a state dict");
  EXPECT_PROBLEM(legacy("}(K\x01" + tensor("0", "FloatStorage", 4, 0, {4}, {1}) + "u", {kFour}), "key is 1");
  EXPECT_PROBLEM(std::string("\x80\x05"), "truncated");
}

TEST(TorchHostile, PersistentIds) {
  const auto with_pid = [](const std::string& pid_body) {
    return legacy(state({{"w", glob("torch._utils", "_rebuild_tensor") + tup({pid_body + "Q", i32(0), ints({4}), ints({1})}) + "R"}}),
                  {kFour});
  };
  EXPECT_PROBLEM(with_pid(sb("storage")), "persistent id is a str");
  EXPECT_PROBLEM(with_pid(tup({sb("storage"), glob("torch", "FloatStorage"), sb("0"), sb("cpu")})), "has 4 entries");
  EXPECT_PROBLEM(with_pid(tup({sb("module"), glob("torch", "FloatStorage"), sb("0"), sb("cpu"), i32(4)})),
                 "does not start with 'storage'");
  EXPECT_PROBLEM(with_pid(tup({sb("storage"), glob("collections", "OrderedDict"), sb("0"), sb("cpu"), i32(4)})),
                 "'collections.OrderedDict' is not a storage class");
  EXPECT_PROBLEM(with_pid(tup({sb("storage"), glob("torch", "FloatStorage"), sb("0"), sb("cpu"), i32(-4)})),
                 "negative element count");
  EXPECT_PROBLEM(with_pid(tup({sb("storage"), glob("torch", "FloatStorage"), sb("0"), sb("cpu"), i32(4),
                               tup({sb("1"), i32(0), i32(2)})})),
                 "storage views");
  // The same key with two types.
  EXPECT_PROBLEM(legacy(state({{"a", tensor("0", "FloatStorage", 4, 0, {4}, {1})},
                               {"b", tensor("0", "IntStorage", 4, 0, {4}, {1})}}),
                        {kFour}),
                 "named twice with different types or sizes");
}

TEST(TorchHostile, TensorGeometry) {
  const auto one = [](int64_t numel, int64_t offset, const std::vector<int64_t>& size, const std::vector<int64_t>& stride) {
    return legacy(state({{"w", tensor("0", "FloatStorage", numel, offset, size, stride)}}), {kFour});
  };
  EXPECT_EQ(problem(one(4, 0, {2, 2}, {2, 1})), "(accepted)");
  EXPECT_EQ(problem(one(4, 3, {4}, {0})), "(accepted)");  // an expanded view of one element
  EXPECT_PROBLEM(one(4, 2, {3}, {1}), "addresses element 4 of storage '0', which has 4 elements");
  EXPECT_PROBLEM(one(4, 0, {2, 2}, {1, 3}), "addresses element 4");
  EXPECT_PROBLEM(one(4, 5, {0}, {1}), "addresses element 5");
  EXPECT_PROBLEM(one(4, 3, {4}, {-1}), "negative stride -1");
  EXPECT_PROBLEM(one(4, 0, {-1}, {1}), "negative size -1");
  EXPECT_PROBLEM(one(4, -1, {1}, {1}), "negative storage offset");
  EXPECT_PROBLEM(one(4, 0, {int64_t{1} << 40, int64_t{1} << 40}, {0, 0}), "overflow");
  EXPECT_PROBLEM(one(4, 0, {2, 2}, {INT64_MAX, 1}), "overflow");
  EXPECT_PROBLEM(one(4, 0, {2}, {1, 1}), "size has 1 dimensions but stride 2");
  EXPECT_PROBLEM(one(4, 0, {1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1}), "has 6 dimensions; hl tensors have at most 5");
  EXPECT_PROBLEM(legacy(state({{"w", tensor("0", "FloatStorage", int64_t{1} << 40, 0, {4}, {1})}}),
                        {{"0", int64_t{1} << 40, f32_bytes({1})}}),
                 "runs past the end of the file");
  EXPECT_PROBLEM(legacy(state({{"w", tensor("0", "FloatStorage", INT64_MAX, 0, {4}, {1})}}),
                        {{"0", INT64_MAX, f32_bytes({1})}}),
                 "runs past the end of the file");
}

TEST(TorchHostile, ViewsCannotMultiplyMemory) {
  // 300 views of one 64 KiB storage would need 19 MiB from a file of about 80 KiB.
  const int64_t n = 16384;
  std::string obj = "}(";
  for (int i = 0; i < 300; ++i) obj += sb("v" + std::to_string(i)) + tensor("0", "FloatStorage", n, 0, {n}, {1});
  obj += "u";
  const StorageData big{"0", n, std::string(static_cast<size_t>(n) * 4, '\0')};
  EXPECT_PROBLEM(legacy(obj, {big}), "more than 4 times the file's size");
  // An expanded view (stride 0) of one element to 2^40 elements.
  EXPECT_PROBLEM(legacy(state({{"w", tensor("0", "FloatStorage", 4, 0, {int64_t{1} << 40}, {0})}}), {kFour}),
                 "more than 4 times the file's size");
}

TEST(TorchHostile, StackAndMemoBombs) {
  // Each must stop at a cap with a message instead of growing without bound.
  EXPECT_PROBLEM(legacy(std::string(1100000, '('), {}), "pickle stack deeper than");
  std::string gets = "Nq" + le(0, 1);
  for (int i = 0; i < 1100000; ++i) gets += "h" + le(0, 1);
  EXPECT_PROBLEM(legacy(gets, {}), "pickle stack deeper than");
  std::string memo = "N";
  for (uint32_t i = 0; i < 1100000; ++i) memo += "r" + le(i, 4);
  EXPECT_PROBLEM(legacy(memo, {}), "memo entries");
  std::string values = "]";
  for (int i = 0; i < 1100000; ++i) values += ")a";
  EXPECT_PROBLEM(legacy(values, {}), "values: not a state dict");
  // One list of 300 numbers named by 200,000 keys: its text once per key would be 300 MB.
  std::string shared = "}(" + sb("k") + "]q" + le(0, 1) + "(";
  for (int i = 0; i < 300; ++i) shared += "M" + le(1000 + i, 2);
  shared += "e";
  for (int i = 0; i < 200000; ++i) shared += "X" + le(6, 4) + le(static_cast<uint64_t>(i), 6) + "h" + le(0, 1);
  EXPECT_PROBLEM(legacy(shared + "u", {}), "take more than 16 MiB as text");
  // Lists nested 200,000 deep: the reader builds and frees them without recursion.
  std::string deep = "]";
  for (int i = 0; i < 200000; ++i) deep += "]";
  for (int i = 0; i < 200000; ++i) deep += "a";
  EXPECT_PROBLEM(legacy(deep, {}), "holds a list");
}

// --- the seed corpus, through the fuzz target's entry point ---------------------------------

std::vector<fs::path> corpus_files() { return test::fuzz_corpus_files("torch"); }

TEST(TorchFuzzCorpusReplay, EveryCorpusFileRunsCleanly) {
  const auto files = corpus_files();
  ASSERT_GE(files.size(), 10u) << "the seed corpus is missing or nearly empty";
  for (const auto& path : files) {
    SCOPED_TRACE(path.filename().string());
    const auto bytes = test::read_file(path.string());
    EXPECT_LE(bytes.size(), 4096u) << "corpus files stay small";
    EXPECT_EQ(LLVMFuzzerTestOneInput(bytes.data(), bytes.size()), 0);
  }
}

TEST(TorchFuzzCorpusReplay, ValidFilesAcceptedBadFilesRefusedForTheirReason) {
  // Each bad_* file is refused for the problem its name says.
  const std::map<std::string, std::string> reasons = {
      {"bad_6dims.pth", "6 dimensions"},
      {"bad_big_endian.pth", "big-endian"},
      {"bad_compressed.pth", "compressed"},
      {"bad_data_entry_short.pth", "holds 20 bytes"},
      {"bad_eval.pth", "builtins.eval"},
      {"bad_missing_data_entry.pth", "no 'archive/data/0'"},
      {"bad_negative_stride.pth", "negative stride"},
      {"bad_numel_beyond_file.pth", "runs past the end of the file"},
      {"bad_os_system.pth", "os.system"},
      {"bad_overflow_sizes.pth", "overflow"},
      {"bad_reduce_storage_class.pth", "REDUCE on torch.FloatStorage"},
      {"bad_storage_bounds.pth", "addresses element 4"},
      {"bad_truncated_legacy.pth", "truncated"},
      {"bad_truncated_zip.pth", "not a readable zip archive"},
      {"bad_unknown_opcode.pth", "unknown opcode 0xff"},
  };
  int valid = 0, bad = 0;
  for (const auto& path : corpus_files()) {
    const std::string name = path.filename().string();
    SCOPED_TRACE(name);
    const auto bytes = test::read_file(path.string());
    if (!torch_zip::available() && bytes.size() >= 4 && std::memcmp(bytes.data(), "PK\x03\x04", 4) == 0) {
      EXPECT_NE(problem(bytes, name).find("this build has no libzip"), std::string::npos);
      continue;
    }
    if (name.rfind("valid_", 0) == 0) {
      EXPECT_EQ(problem(bytes, name), "(accepted)");
      ++valid;
    } else if (name.rfind("bad_", 0) == 0) {
      ASSERT_TRUE(reasons.count(name)) << "a bad_ corpus file without an expected reason here";
      const std::string p = problem(bytes, name);
      EXPECT_NE(p.find(reasons.at(name)), std::string::npos) << p;
      ++bad;
    }
  }
  if (torch_zip::available()) {
    EXPECT_GE(valid, 5);
    EXPECT_EQ(bad, static_cast<int>(reasons.size()));
  }
}

}  // namespace
}  // namespace hl
