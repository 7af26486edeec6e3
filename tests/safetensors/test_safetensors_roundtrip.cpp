// Write/read round trips of every Tensor dtype, zero-copy views, and what the reader
// offers for dtypes and ranks a Tensor cannot hold.
#include <cmath>
#include <cstring>
#include <random>
#include <utility>

#include "engine/safetensors.h"
#include "st_test_util.h"
#include "support/test_support.h"

namespace hl {
namespace {

using test::st_file;

// A CPU tensor of `dtype` filled with random bytes (any bit pattern is a value to keep).
Tensor random_tensor(const Shape& shape, DType dtype, uint32_t seed) {
  Tensor t = Tensor::empty(shape, dtype);
  std::mt19937 gen(seed);
  auto* p = static_cast<uint8_t*>(t.raw());
  for (size_t i = 0; i < t.nbytes(); ++i) p[i] = static_cast<uint8_t>(gen());
  return t;
}

std::vector<uint8_t> bytes_of(const Tensor& t) {
  const auto* p = static_cast<const uint8_t*>(t.raw());
  return {p, p + t.nbytes()};
}

TEST(SafetensorsRoundTrip, EveryDtypeAndShapeBitExact) {
  test::TempDir dir;
  const std::string path = dir.file("all.safetensors");
  const DType dtypes[] = {DType::F32, DType::F16, DType::BF16, DType::I32, DType::I64, DType::U8};
  const Shape shapes[] = {Shape{}, Shape{0}, Shape{7}, Shape{3, 0, 2}, Shape{2, 3}, Shape{2, 1, 3, 1, 2}};
  std::vector<std::pair<std::string, Tensor>> tensors;
  uint32_t seed = 1;
  for (DType d : dtypes)
    for (const Shape& s : shapes)
      tensors.emplace_back(std::string(dtype_name(d)) + "/" + s.str(), random_tensor(s, d, seed++));
  const std::map<std::string, std::string> metadata = {{"fps", "29.97"}, {"note", "ünïcødé ✓"}, {"", ""}};
  write_safetensors(path, tensors, metadata);

  const auto file = SafetensorsFile::open(path);
  EXPECT_EQ(file.metadata(), metadata);
  ASSERT_EQ(file.tensors().size(), tensors.size());
  EXPECT_EQ(file.header_length() % 8, 0u) << "the writer pads the header to a multiple of 8";
  for (const auto& [name, t] : tensors) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(file.contains(name));
    const auto& info = file.info(name);
    EXPECT_EQ(info.dtype->name, dtype_name(t.dtype()));
    EXPECT_EQ(info.shape, t.shape().vec());
    EXPECT_EQ(info.file_offset % dtype_size(t.dtype()), 0u) << "data must be aligned for zero-copy views";
    const Tensor back = file.get(name);
    EXPECT_TRUE(back.storage()->read_only()) << "a view of the mapping, not a copy";
    EXPECT_EQ(back.dtype(), t.dtype());
    EXPECT_EQ(back.shape(), t.shape());
    EXPECT_EQ(bytes_of(back), bytes_of(t));
    const auto raw = file.bytes(name);
    EXPECT_EQ(std::vector<uint8_t>(raw.begin(), raw.end()), bytes_of(t));
  }
}

TEST(SafetensorsRoundTrip, SpecialFloatValuesKeepTheirBits) {
  test::TempDir dir;
  const std::string path = dir.file("special.safetensors");
  const std::vector<float> values = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e-45f, 3.4e38f, -1.5f};
  const Tensor t = Tensor::from_vector(Shape{8}, values);
  write_safetensors(path, {{"x", t}});
  const Tensor back = SafetensorsFile::open(path).get("x");
  EXPECT_EQ(std::memcmp(back.raw(), values.data(), values.size() * 4), 0);
}

TEST(SafetensorsRoundTrip, ViewsAreZeroCopyAndOutliveTheFile) {
  test::TempDir dir;
  const std::string path = dir.file("v.safetensors");
  write_safetensors(path, {{"a", Tensor::from_vector(Shape{2}, {1, 2})}, {"b", Tensor::from_vector(Shape{1}, {3})}});
  Tensor a, b;
  {
    const auto file = SafetensorsFile::open(path);
    a = file.get("a");
    b = file.get("b");
    EXPECT_EQ(a.storage(), b.storage()) << "both views share the one mapping";
    EXPECT_TRUE(a.storage()->read_only());
    EXPECT_EQ(a.storage()->nbytes(), file.file_size());
    EXPECT_THROW(a.raw(), Error) << "a mapped file must not be writable through a tensor";
  }
  // The file object is gone; the mapping lives on in the tensors.
  EXPECT_EQ(std::as_const(a).data<float>()[1], 2.0f);
  EXPECT_EQ(std::as_const(b).data<float>()[0], 3.0f);
}

TEST(SafetensorsRoundTrip, WriterOrdersByElementSizeThenAsGiven) {
  test::TempDir dir;
  const std::string path = dir.file("order.safetensors");
  write_safetensors(path, {{"z", Tensor::zeros(Shape{1}, DType::U8)},
                           {"h", Tensor::zeros(Shape{3}, DType::F16)},
                           {"a", Tensor::zeros(Shape{2}, DType::U8)},
                           {"l", Tensor::zeros(Shape{1}, DType::I64)},
                           {"m", Tensor::zeros(Shape{0}, DType::U8)},
                           {"f", Tensor::zeros(Shape{1}, DType::F32)}});
  EXPECT_EQ(SafetensorsFile::open(path).names(), (std::vector<std::string>{"l", "f", "h", "z", "a", "m"}));
}

TEST(SafetensorsRoundTrip, NoTensorsAndNoMetadata) {
  test::TempDir dir;
  const std::string path = dir.file("empty.safetensors");
  write_safetensors(path, {});
  const auto file = SafetensorsFile::open(path);
  EXPECT_TRUE(file.tensors().empty());
  EXPECT_TRUE(file.metadata().empty());
  EXPECT_EQ(file.file_size(), 8 + file.header_length());
}

TEST(SafetensorsRoundTrip, FromBytesMatchesOpen) {
  test::TempDir dir;
  const std::string path = dir.file("b.safetensors");
  write_safetensors(path, {{"w", Tensor::from_vector(Shape{2, 2}, {1, 2, 3, 4})}}, {{"k", "v"}});
  const auto mem = SafetensorsFile::from_bytes(test::read_file(path), "in-memory");
  EXPECT_EQ(mem.path(), "in-memory");
  EXPECT_EQ(mem.metadata().at("k"), "v");
  const Tensor w = mem.get("w");
  EXPECT_EQ(w.data<float>()[3], 4.0f);
}

TEST(SafetensorsRoundTrip, OtherDtypesAreReadableAsBytesOnly) {
  // F64 and BOOL are valid safetensors dtypes that a Tensor cannot hold.
  const std::vector<uint8_t> f64 = {0, 0, 0, 0, 0, 0, 0xF0, 0x3F};  // 1.0
  const auto file = SafetensorsFile::from_bytes(
      test::st_file(R"({"d":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},)"
                    R"("b":{"dtype":"BOOL","shape":[2],"data_offsets":[8,10]}})",
                    {0, 0, 0, 0, 0, 0, 0xF0, 0x3F, 1, 0}),
      "other.safetensors");
  const auto raw = file.bytes("d");
  EXPECT_EQ(std::vector<uint8_t>(raw.begin(), raw.end()), f64);
  EXPECT_EQ(file.info("b").dtype->name, "BOOL");
  try {
    file.get("d");
    FAIL() << "get() of an F64 tensor must throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("F64"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("other.safetensors"), std::string::npos) << e.what();
  }
}

TEST(SafetensorsRoundTrip, MoreThanFiveDimensionsAreReadableAsBytesOnly) {
  const auto file = SafetensorsFile::from_bytes(
      st_file(R"({"x":{"dtype":"U8","shape":[1,1,1,1,1,2],"data_offsets":[0,2]}})", {7, 9}), "six.safetensors");
  EXPECT_EQ(file.info("x").shape.size(), 6u);
  EXPECT_EQ(file.bytes("x")[1], 9);
  EXPECT_THROW(file.get("x"), Error);
}

TEST(SafetensorsRoundTrip, UnalignedDataIsCopiedNotMisread) {
  // A 2-byte header puts the data at file offset 10: not 4-byte aligned for an F32.
  const std::string header = R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  ASSERT_NE((8 + header.size()) % 4, 0u);
  const auto file = SafetensorsFile::from_bytes(st_file(header, {0, 0, 0x80, 0x3F}), "unaligned");
  const Tensor t = file.get("x");
  EXPECT_EQ(t.data<float>()[0], 1.0f);
}

TEST(SafetensorsRoundTrip, UnknownNameNamesTheFile) {
  const auto file = SafetensorsFile::from_bytes(st_file("{}"), "names.safetensors");
  try {
    file.info("missing");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("names.safetensors: no tensor named 'missing'"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace hl
