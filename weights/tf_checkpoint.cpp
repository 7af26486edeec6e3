// See tf_checkpoint.h. The index is read whole into memory (indexes are small: ~100
// bytes per tensor); the shards are only measured at open and read tensor by tensor
// with pread.
#include "weights/tf_checkpoint.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include "kernels/common/half.h"
#include "weights/crc32c.h"
#include "weights/leveldb_table.h"
#include "weights/quoted_name.h"
#include "weights/tf_bundle_proto.h"

namespace hl {

static_assert(std::endian::native == std::endian::little, "the reader copies little-endian data as is");

namespace {

// TensorFlow's kTensorBundleVersion and kTensorBundleMinConsumer (tensor_bundle.h).
constexpr int64_t kBundleVersion = 1;
// The shard file name holds the count in 5 digits.
constexpr int64_t kMaxShards = 99999;
// An index larger than this is not a checkpoint's (the Multisensory ones are ~60 KB).
constexpr uint64_t kMaxIndexBytes = uint64_t{256} << 20;

struct TfDType {
  int64_t id;
  const char* tf_name;
  const char* name;  // hl-inspect's / safetensors' name
  size_t size;       // bytes per element; 0: variable-length encoding (strings, ...)
};

constexpr TfDType kDTypes[] = {
    {1, "DT_FLOAT", "F32", 4},       {2, "DT_DOUBLE", "F64", 8},      {3, "DT_INT32", "I32", 4},
    {4, "DT_UINT8", "U8", 1},        {5, "DT_INT16", "I16", 2},       {6, "DT_INT8", "I8", 1},
    {7, "DT_STRING", "STRING", 0},   {8, "DT_COMPLEX64", "C64", 8},   {9, "DT_INT64", "I64", 8},
    {10, "DT_BOOL", "BOOL", 1},      {11, "DT_QINT8", "QI8", 1},      {12, "DT_QUINT8", "QU8", 1},
    {13, "DT_QINT32", "QI32", 4},    {14, "DT_BFLOAT16", "BF16", 2},  {15, "DT_QINT16", "QI16", 2},
    {16, "DT_QUINT16", "QU16", 2},   {17, "DT_UINT16", "U16", 2},     {18, "DT_COMPLEX128", "C128", 16},
    {19, "DT_HALF", "F16", 2},       {20, "DT_RESOURCE", "RESOURCE", 0}, {21, "DT_VARIANT", "VARIANT", 0},
    {22, "DT_UINT32", "U32", 4},     {23, "DT_UINT64", "U64", 8},
};

const TfDType* find_dtype(int64_t id) {
  for (const auto& d : kDTypes)
    if (d.id == id) return &d;
  return nullptr;
}

// A tensor name as text in a message (weights/quoted_name.h).
std::string quoted(const std::string& name) { return quoted_name(name, 120); }

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

// The whole file; refuses anything but a regular file of at most `cap` bytes.
std::vector<uint8_t> read_whole_file(const std::string& path, uint64_t cap) {
  // O_NONBLOCK: a FIFO must not block the open; it is refused below.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw FormatError(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw FormatError(path, "is not a regular file");
  }
  if (static_cast<uint64_t>(st.st_size) > cap) {
    ::close(fd);
    throw FormatError(path, "is " + std::to_string(st.st_size) + " bytes, more than the " + std::to_string(cap) +
                                " a checkpoint index may have");
  }
  std::vector<uint8_t> out(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < out.size()) {
    const ssize_t r = ::read(fd, out.data() + got, out.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      const int e = errno;
      ::close(fd);
      throw FormatError(path, r == 0 ? "became shorter while being read" : std::string("read failed: ") + std::strerror(e));
    }
    got += static_cast<size_t>(r);
  }
  ::close(fd);
  return out;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_regular_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// f64 -> f32 rounded to nearest even; beyond the f32 range +-inf (a plain cast of an
// out-of-range double is undefined behaviour).
float f64_to_f32(double d) {
  constexpr double kMax = std::numeric_limits<float>::max();
  constexpr double kHalfUlpAboveMax = 0x1p103;  // FLT_MAX + 2^103 rounds (to even) to infinity
  if (std::isfinite(d) && std::fabs(d) > kMax) {
    const float big = std::fabs(d) >= kMax + kHalfUlpAboveMax ? std::numeric_limits<float>::infinity()
                                                              : std::numeric_limits<float>::max();
    return d < 0 ? -big : big;
  }
  return static_cast<float>(d);
}

template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// A DT_STRING tensor as TensorFlow's BundleWriter stores it (WriteStringTensor in
// tensor_bundle.cc): a varint64 length per element, the masked CRC-32C of those lengths,
// then the bytes of every element. Its CRC is not that of the stored bytes: it runs over
// each length as a u32 (a u64 above 2^32 - 1), then the 4 checksum bytes, then the
// element bytes. Returns the element texts; `problem` is set when the encoding is bad.
struct StringTensor {
  std::vector<std::string> elements;
  uint32_t crc = 0;
  std::string problem;
};

StringTensor decode_strings(const std::vector<uint8_t>& b, uint64_t numel) {
  StringTensor out;
  if (numel > b.size()) {  // every length takes at least one byte
    out.problem = std::to_string(numel) + " strings cannot fit in " + std::to_string(b.size()) + " bytes";
    return out;
  }
  const uint8_t* p = b.data();
  const uint8_t* const end = p + b.size();
  std::vector<uint64_t> lengths;
  lengths.reserve(static_cast<size_t>(numel));
  uint32_t crc = 0;
  uint64_t total = 0;
  for (uint64_t i = 0; i < numel; ++i) {
    uint64_t len;
    if (!leveldb::get_varint(end, &p, &len) || len > b.size() || (total += len) > b.size()) {
      out.problem = "string length " + std::to_string(i) + " is malformed or longer than the tensor";
      return out;
    }
    lengths.push_back(len);
    if (len <= 0xFFFFFFFFu) {
      const uint32_t len32 = static_cast<uint32_t>(len);
      crc = crc32c::extend(crc, &len32, 4);
    } else {
      crc = crc32c::extend(crc, &len, 8);
    }
  }
  if (static_cast<uint64_t>(end - p) < 4 || static_cast<uint64_t>(end - p) - 4 != total) {
    out.problem = "the string lengths (" + std::to_string(total) + " bytes) and their checksum do not add up to " +
                  std::to_string(b.size()) + " bytes";
    return out;
  }
  uint32_t stored_masked;
  std::memcpy(&stored_masked, p, 4);
  if (crc32c::unmask(stored_masked) != crc) {
    out.problem = "the checksum of the string lengths does not match";
    return out;
  }
  crc = crc32c::extend(crc, p, 4);
  p += 4;
  for (uint64_t len : lengths) {
    crc = crc32c::extend(crc, p, static_cast<size_t>(len));
    out.elements.emplace_back(reinterpret_cast<const char*>(p), static_cast<size_t>(len));
    p += len;
  }
  out.crc = crc;
  return out;
}

uint64_t element_count(const std::vector<int64_t>& shape) {
  uint64_t n = 1;
  for (int64_t d : shape) n *= static_cast<uint64_t>(d);  // checked at open: at most 2^62
  return n;
}

}  // namespace

TfCheckpoint TfCheckpoint::open(const std::string& path) {
  TfCheckpoint c;
  c.prefix_ = ends_with(path, ".index") ? path.substr(0, path.size() - 6) : path;
  c.index_name_ = c.index_path();
  if (!ends_with(path, ".index") && !is_regular_file(c.index_name_) && is_regular_file(path))
    throw FormatError(path, "is not a TensorFlow checkpoint prefix: '" + c.index_name_ +
                                "' does not exist (give the prefix or its .index file)");
  const std::vector<uint8_t> index = read_whole_file(c.index_name_, kMaxIndexBytes);
  c.index_size_ = index.size();
  c.load_index(index);
  return c;
}

TfCheckpoint TfCheckpoint::from_memory(std::span<const uint8_t> index, std::span<const uint8_t> data,
                                       const std::string& name) {
  TfCheckpoint c;
  c.prefix_ = name;
  c.index_name_ = name;
  c.index_size_ = index.size();
  c.memory_data_ = std::make_shared<const std::vector<uint8_t>>(data.begin(), data.end());
  c.load_index(index);
  return c;
}

std::string TfCheckpoint::shard_path(int64_t shard) const {
  char buf[48];
  std::snprintf(buf, sizeof buf, ".data-%05lld-of-%05lld", static_cast<long long>(shard),
                static_cast<long long>(num_shards_));
  return prefix_ + buf;
}

uint64_t TfCheckpoint::total_bytes() const {
  uint64_t n = index_size_;
  for (const auto& s : shards_) n += s.size;
  return n;
}

void TfCheckpoint::load_index(std::span<const uint8_t> index) {
  const std::string& file = index_name_;
  const std::vector<leveldb::Entry> entries = leveldb::read_table(index, file);
  if (entries.empty() || !entries.front().key.empty())
    throw FormatError(file, "has no header entry (the empty key): not a TensorFlow V2 checkpoint index");
  const tf_bundle::Header h = tf_bundle::parse_header(entries.front().value, file, "the header entry");
  if (h.num_shards < 1 || h.num_shards > kMaxShards)
    throw FormatError(file, "the header declares " + std::to_string(h.num_shards) + " shards (1 to " +
                                std::to_string(kMaxShards) + " allowed)");
  if (h.endianness != 0)
    throw FormatError(file, h.endianness == 1 ? "is a big-endian checkpoint, which hl does not read"
                                              : "the header has unknown endianness " + std::to_string(h.endianness));
  if (h.min_consumer > kBundleVersion)
    throw FormatError(file, "needs a reader of tensor bundle version " + std::to_string(h.min_consumer) +
                                " or newer; hl reads version " + std::to_string(kBundleVersion));
  for (int64_t bad : h.bad_consumers)
    if (bad == kBundleVersion)
      throw FormatError(file, "declares reader version " + std::to_string(kBundleVersion) + " (hl's) a bad consumer");
  num_shards_ = h.num_shards;

  // The shards: their sizes bound every entry.
  for (int64_t s = 0; s < num_shards_; ++s) {
    Shard shard;
    if (memory_data_) {
      shard.size = memory_data_->size();
    } else {
      shard.path = shard_path(s);
      struct stat st {};
      if (::stat(shard.path.c_str(), &st) != 0)
        throw FormatError(shard.path, std::string("cannot open the checkpoint's data shard: ") + std::strerror(errno));
      if (!S_ISREG(st.st_mode)) throw FormatError(shard.path, "the checkpoint's data shard is not a regular file");
      shard.size = static_cast<uint64_t>(st.st_size);
    }
    shards_.push_back(std::move(shard));
  }

  for (size_t i = 1; i < entries.size(); ++i) {
    const std::string& name = entries[i].key;
    const std::string what = "tensor " + quoted(name);
    const tf_bundle::Entry e = tf_bundle::parse_entry(entries[i].value, file, what);
    auto fail = [&](const std::string& problem) { throw FormatError(file, what + ": " + problem); };
    if (e.num_slices > 0)
      fail("is a partitioned variable (stored as " + std::to_string(e.num_slices) +
           " slices), which hl does not read; save it unpartitioned");
    const TfDType* dt = find_dtype(e.dtype);
    if (!dt) fail("unknown dtype " + std::to_string(e.dtype));
    if (e.unknown_rank) fail("has a shape of unknown rank");
    // The element count, with every step checked (a hostile shape overflows int64).
    uint64_t numel = 1;
    for (int64_t d : e.shape) {
      if (d < 0) fail("has a negative (unknown) dimension " + std::to_string(d));
      if (d != 0 && numel > (uint64_t{1} << 62) / static_cast<uint64_t>(d))
        fail("shape product overflows: more than 2^62 elements");
      numel *= static_cast<uint64_t>(d);
    }
    if (e.shard_id < 0 || e.shard_id >= num_shards_)
      fail("lies in shard " + std::to_string(e.shard_id) + ", but the checkpoint has " + std::to_string(num_shards_));
    if (e.offset < 0 || e.size < 0) fail("negative offset or size");
    const uint64_t offset = static_cast<uint64_t>(e.offset), size = static_cast<uint64_t>(e.size);
    if (dt->size > 0) {
      if (numel > std::numeric_limits<uint64_t>::max() / dt->size || numel * dt->size != size)
        fail("holds " + std::to_string(size) + " bytes, but " + std::to_string(numel) + " elements of " +
             dt->tf_name + " need " + (numel > std::numeric_limits<uint64_t>::max() / dt->size
                                           ? std::string("more than 2^64")
                                           : std::to_string(numel * dt->size)));
    }
    const Shard& shard = shards_[static_cast<size_t>(e.shard_id)];
    if (offset > shard.size || size > shard.size - offset)
      fail("lies at bytes [" + std::to_string(offset) + ", " + std::to_string(offset) + " + " + std::to_string(size) +
           ") of shard " + std::to_string(e.shard_id) + " ('" + (shard.path.empty() ? "data" : shard.path) +
           "'), past its end at " + std::to_string(shard.size));
    TfTensorInfo t;
    t.name = name;
    t.dtype = e.dtype;
    t.dtype_name = dt->name;
    t.shape = e.shape;
    t.shard = e.shard_id;
    t.offset = offset;
    t.size = size;
    t.crc32c = crc32c::unmask(e.crc32c);
    tensors_.push_back(std::move(t));
  }
}

const TfTensorInfo* TfCheckpoint::find(const std::string& name) const {
  for (const auto& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

const TfTensorInfo& TfCheckpoint::info(const std::string& name) const {
  const TfTensorInfo* t = find(name);
  if (!t) throw FormatError(index_name_, "has no tensor " + quoted(name));
  return *t;
}

std::vector<uint8_t> TfCheckpoint::read_bytes(const std::string& name) const {
  const TfTensorInfo& t = info(name);
  const Shard& shard = shards_[static_cast<size_t>(t.shard)];
  const std::string& where = shard.path.empty() ? index_name_ : shard.path;
  std::vector<uint8_t> out(static_cast<size_t>(t.size));
  if (memory_data_) {
    if (t.size > 0) std::memcpy(out.data(), memory_data_->data() + t.offset, out.size());
  } else {
    const int fd = ::open(shard.path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) throw FormatError(where, std::string("cannot open: ") + std::strerror(errno));
    size_t got = 0;
    while (got < out.size()) {
      const ssize_t r = ::pread(fd, out.data() + got, out.size() - got, static_cast<off_t>(t.offset + got));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        const int e = errno;
        ::close(fd);
        throw FormatError(where, "tensor " + quoted(name) + ": " +
                                     (r == 0 ? std::string("the shard became shorter since the checkpoint was opened")
                                             : std::string("read failed: ") + std::strerror(e)));
      }
      got += static_cast<size_t>(r);
    }
    ::close(fd);
  }
  if (t.dtype == 20 || t.dtype == 21)  // DT_RESOURCE, DT_VARIANT: encodings of their own
    throw FormatError(index_name_, "tensor " + quoted(name) + " has dtype " + find_dtype(t.dtype)->tf_name +
                                       ", which hl does not read");
  uint32_t actual;
  if (t.dtype == 7) {  // DT_STRING
    const StringTensor st = decode_strings(out, element_count(t.shape));
    if (!st.problem.empty()) throw FormatError(where, "string tensor " + quoted(name) + ": " + st.problem);
    actual = st.crc;
  } else {
    actual = crc32c::value(out.data(), out.size());
  }
  if (actual != t.crc32c)
    throw FormatError(where, "tensor " + quoted(name) + ": CRC-32C mismatch (stored " + hex32(t.crc32c) +
                                 ", computed " + hex32(actual) + "): the data is corrupt");
  return out;
}

std::vector<std::string> TfCheckpoint::read_strings(const std::string& name) const {
  const TfTensorInfo& t = info(name);
  if (t.dtype != 7)
    throw FormatError(index_name_, "tensor " + quoted(name) + " has dtype " + find_dtype(t.dtype)->tf_name +
                                       ", not DT_STRING");
  return decode_strings(read_bytes(name), element_count(t.shape)).elements;  // checked by read_bytes
}

Tensor TfCheckpoint::read_f32(const std::string& name) const {
  const TfTensorInfo& t = info(name);
  const TfDType* dt = find_dtype(t.dtype);
  using Convert = float (*)(const uint8_t*);
  Convert convert = nullptr;
  switch (t.dtype) {
    case 1: convert = [](const uint8_t* p) { return load<float>(p); }; break;
    case 2: convert = [](const uint8_t* p) { return f64_to_f32(load<double>(p)); }; break;
    case 3: convert = [](const uint8_t* p) { return static_cast<float>(load<int32_t>(p)); }; break;
    case 4: convert = [](const uint8_t* p) { return static_cast<float>(*p); }; break;
    case 5: convert = [](const uint8_t* p) { return static_cast<float>(load<int16_t>(p)); }; break;
    case 6: convert = [](const uint8_t* p) { return static_cast<float>(load<int8_t>(p)); }; break;
    case 9: convert = [](const uint8_t* p) { return static_cast<float>(load<int64_t>(p)); }; break;
    case 10: convert = [](const uint8_t* p) { return *p != 0 ? 1.0f : 0.0f; }; break;
    case 14: convert = [](const uint8_t* p) { return bf16_bits_to_f32(load<uint16_t>(p)); }; break;
    case 19: convert = [](const uint8_t* p) { return f16_bits_to_f32(load<uint16_t>(p)); }; break;
    default:
      throw FormatError(index_name_, "tensor " + quoted(name) + " has dtype " + dt->tf_name +
                                         ", which cannot be read as float32");
  }
  if (t.shape.size() > static_cast<size_t>(Shape::kMaxDims))
    throw FormatError(index_name_, "tensor " + quoted(name) + " has " + std::to_string(t.shape.size()) +
                                       " dimensions; hl tensors have at most " + std::to_string(Shape::kMaxDims));
  const std::vector<uint8_t> bytes = read_bytes(name);
  Tensor out = Tensor::empty(Shape(t.shape), DType::F32);
  float* dst = out.data<float>();
  const size_t n = static_cast<size_t>(out.numel());
  for (size_t i = 0; i < n; ++i) dst[i] = convert(bytes.data() + i * dt->size);
  return out;
}

bool looks_like_tf_checkpoint(const std::string& path) {
  if (ends_with(path, ".index")) return is_regular_file(path);
  return !is_regular_file(path) && is_regular_file(path + ".index");
}

}  // namespace hl
