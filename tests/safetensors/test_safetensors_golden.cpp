// Both directions against the reference implementation (PyPI safetensors):
// files it writes read bit-exactly here, and files written here load bit-exactly there.
// tests/golden/safetensors_ref.py does the Python side; a manifest.json beside the files
// carries each tensor's dtype, shape and raw bytes (hex) between the two.
#include <nlohmann/json.hpp>
#include <random>

#include "engine/safetensors.h"
#include "support/test_support.h"

namespace hl {
namespace {

using nlohmann::json;

std::string hex(std::span<const uint8_t> bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

json read_json(const std::string& path) {
  const auto bytes = test::read_file(path);
  return json::parse(bytes.begin(), bytes.end());
}

TEST(SafetensorsGolden, ReadsReferenceFilesBitExactly) {
  test::TempDir dir;
  ASSERT_EQ(test::run_golden_script("safetensors_ref.py", {"write", dir.path().string()}), 0);
  const json manifest = read_json(dir.file("manifest.json"));
  ASSERT_GE(manifest.size(), 4u);
  size_t checked = 0;
  for (const auto& [fname, expected] : manifest.items()) {
    SCOPED_TRACE(fname);
    const auto file = SafetensorsFile::open(dir.file(fname));
    const auto metadata = expected["metadata"].get<std::map<std::string, std::string>>();
    EXPECT_EQ(file.metadata(), metadata);
    ASSERT_EQ(file.tensors().size(), expected["tensors"].size());
    for (const auto& [name, t] : expected["tensors"].items()) {
      SCOPED_TRACE(name);
      ASSERT_TRUE(file.contains(name));
      const auto& info = file.info(name);
      EXPECT_EQ(info.dtype->name, t["dtype"].get<std::string>());
      EXPECT_EQ(info.shape, t["shape"].get<std::vector<int64_t>>());
      EXPECT_EQ(hex(file.bytes(name)), t["hex"].get<std::string>());
      // Through a Tensor too, where a Tensor can hold it.
      if (info.dtype->hl && info.shape.size() <= 5) {
        const Tensor tensor = file.get(name);
        EXPECT_EQ(dtype_name(tensor.dtype()), t["dtype"].get<std::string>());
        EXPECT_EQ(tensor.shape().vec(), info.shape);
        EXPECT_EQ(hex({static_cast<const uint8_t*>(tensor.raw()), tensor.nbytes()}), t["hex"].get<std::string>());
      }
      ++checked;
    }
  }
  EXPECT_GE(checked, 25u);
}

// Random bytes for `shape` of `dtype`: every bit pattern (NaN payloads, infinities,
// subnormals) must survive the trip.
Tensor make_tensor(const Shape& shape, DType dtype, uint32_t seed) {
  Tensor t = Tensor::empty(shape, dtype);
  std::mt19937 gen(seed);
  auto* p = static_cast<uint8_t*>(t.raw());
  for (size_t i = 0; i < t.nbytes(); ++i) p[i] = static_cast<uint8_t>(gen());
  return t;
}

TEST(SafetensorsGolden, ReferenceLoadsOurFilesBitExactly) {
  test::TempDir dir;
  json manifest = json::object();
  const DType dtypes[] = {DType::F32, DType::F16, DType::BF16, DType::I32, DType::I64, DType::U8};
  const Shape shapes[] = {Shape{}, Shape{0}, Shape{5}, Shape{2, 0, 3}, Shape{3, 4}, Shape{1, 2, 3, 2, 1}};
  uint32_t seed = 7;
  auto add_file = [&](const std::string& fname, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
    write_safetensors(dir.file(fname), tensors, metadata);
    json entry = {{"metadata", metadata}, {"tensors", json::object()}};
    for (const auto& [name, t] : tensors)
      entry["tensors"][name] = {{"dtype", std::string(dtype_name(t.dtype()))},
                                {"shape", t.shape().vec()},
                                {"hex", hex({static_cast<const uint8_t*>(t.raw()), t.nbytes()})}};
    manifest[fname] = entry;
  };

  std::vector<std::pair<std::string, Tensor>> all;
  for (DType d : dtypes)
    for (const Shape& s : shapes) all.emplace_back(std::string(dtype_name(d)) + " " + s.str(), make_tensor(s, d, seed++));
  all.emplace_back("big", make_tensor(Shape{129, 31}, DType::F32, seed++));
  all.emplace_back("ünïcødé ✓", make_tensor(Shape{3}, DType::BF16, seed++));
  add_file("ours_all.safetensors", all, {{"fps", "29.97"}, {"unicode", "ünïcødé ✓"}, {"empty", ""}});
  add_file("ours_empty.safetensors", {}, {});
  add_file("ours_metadata_only.safetensors", {}, {{"k", "v"}});
  add_file("ours_one_byte.safetensors", {{"b", make_tensor(Shape{1}, DType::U8, seed++)}}, {});

  const std::string manifest_path = dir.file("manifest.json");
  const std::string text = manifest.dump();
  test::write_file(manifest_path, std::vector<uint8_t>(text.begin(), text.end()));
  EXPECT_EQ(test::run_golden_script("safetensors_ref.py", {"check", manifest_path}), 0)
      << "the reference package read our files differently; its JSON report is in the test log above";
}

}  // namespace
}  // namespace hl
