#include "engine/safetensors.h"

#include "engine/atomic_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <unordered_set>

namespace hl {

namespace {

// The reference implementation's cap on N; a header this big is already absurd.
constexpr uint64_t kMaxHeaderLength = 100'000'000;
// The format has no limit, but no real tensor has this many dimensions, and the cap
// keeps a hostile header from turning each 2-byte "0," into an 8-byte shape entry.
constexpr size_t kMaxFileDims = 64;

// Every dtype of the reference implementation (safetensors 0.8), so that we accept the
// files it accepts; `hl` marks the ones a Tensor can hold.
constexpr SafetensorsDType kDTypes[] = {
    {"BOOL", 8, std::nullopt},         {"U8", 8, DType::U8},
    {"I8", 8, std::nullopt},           {"F8_E5M2", 8, std::nullopt},
    {"F8_E4M3", 8, std::nullopt},      {"F8_E8M0", 8, std::nullopt},
    {"F8_E4M3FNUZ", 8, std::nullopt},  {"F8_E5M2FNUZ", 8, std::nullopt},
    {"F4", 4, std::nullopt},           {"F6_E2M3", 6, std::nullopt},
    {"F6_E3M2", 6, std::nullopt},      {"I16", 16, std::nullopt},
    {"U16", 16, std::nullopt},         {"F16", 16, DType::F16},
    {"BF16", 16, DType::BF16},         {"I32", 32, DType::I32},
    {"U32", 32, std::nullopt},         {"F32", 32, DType::F32},
    {"C64", 64, std::nullopt},         {"F64", 64, std::nullopt},
    {"I64", 64, DType::I64},           {"U64", 64, std::nullopt},
};

// A name or other header text as it appears in a message: quoted, control characters
// escaped (a hostile name must not rewrite the terminal), and cut short, because a
// name may be as long as the header itself.
std::string shown(std::string_view name) {
  constexpr size_t kMaxShown = 80;
  std::string out = "'";
  size_t i = 0;
  for (; i < name.size() && i < kMaxShown; ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c < 0x20 || c == 0x7F) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (i < name.size()) {
    // Do not end inside a UTF-8 sequence: drop its lead and continuation bytes.
    while (out.size() > 1 && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
    if (out.size() > 1 && static_cast<unsigned char>(out.back()) >= 0xC0) out.pop_back();
    out += "...' (" + std::to_string(name.size()) + " bytes)";
    return out;
  }
  return out + "'";
}

// "1 byte", "3 bytes".
std::string byte_count(uint64_t n) { return std::to_string(n) + (n == 1 ? " byte" : " bytes"); }

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Index of the first byte that is not well-formed UTF-8 in the strict sense of Rust's
// str::from_utf8, which the reference uses (no overlong forms, no surrogates, nothing
// above U+10FFFF), or npos when all of `s` is.
size_t find_invalid_utf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return i;
    }
    if (n - i < len) return i;
    const auto c1 = static_cast<unsigned char>(s[i + 1]);
    if (c1 < lo || c1 > hi) return i;
    for (size_t k = 2; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return i;
    i += len;
  }
  return std::string_view::npos;
}

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// A header entry as the JSON states it, before its numbers are checked.
struct RawEntry {
  std::string name;
  const SafetensorsDType* dtype = nullptr;
  std::vector<int64_t> shape;
  std::vector<uint64_t> offsets;
  bool has_dtype = false, has_shape = false, has_offsets = false;
};

// nlohmann SAX handler that checks the header's structure while it is parsed. Parsing
// into a DOM first would silently keep the last of two duplicate names, and would build
// whatever nesting a hostile header holds; this handler rejects the first value that
// is out of place, so memory stays proportional to the valid part of the header.
class HeaderHandler {
 public:
  using json = nlohmann::json;
  explicit HeaderHandler(const std::string& path) : path_(path) {}

  std::map<std::string, std::string> metadata;
  std::vector<RawEntry> entries;  // header order
  bool done() const { return state_ == State::Done; }

  bool start_object(size_t) {
    switch (state_) {
      case State::Start: state_ = State::Top; return true;
      case State::MetadataValue: state_ = State::Metadata; return true;
      case State::TensorValue: state_ = State::Tensor; return true;
      default: unexpected("an object");
    }
  }
  bool end_object() {
    switch (state_) {
      case State::Top: state_ = State::Done; return true;
      case State::Metadata: state_ = State::Top; return true;
      case State::Tensor: finish_tensor(); state_ = State::Top; return true;
      default: unexpected("the end of an object");  // unreachable: nlohmann pairs them
    }
  }
  bool start_array(size_t) {
    switch (state_) {
      case State::ShapeStart: state_ = State::Shape; return true;
      case State::OffsetsStart: state_ = State::Offsets; return true;
      default: unexpected("an array");
    }
  }
  bool end_array() {
    switch (state_) {
      case State::Shape: state_ = State::Tensor; return true;
      case State::Offsets:
        if (entries.back().offsets.size() != 2)
          fail("data_offsets of tensor " + shown(entries.back().name) + " has " +
               std::to_string(entries.back().offsets.size()) + " entries, not 2");
        state_ = State::Tensor;
        return true;
      default: unexpected("the end of an array");
    }
  }
  bool key(std::string& k) {
    switch (state_) {
      case State::Top: top_key(k); return true;
      case State::Metadata:
        if (metadata.count(k)) fail("duplicate metadata key " + shown(k));
        metadata_key_ = k;
        state_ = State::MetadataEntry;
        return true;
      case State::Tensor: tensor_field(k); return true;
      default: unexpected("a key");  // unreachable: keys only come inside objects
    }
  }
  bool string(std::string& v) {
    switch (state_) {
      case State::MetadataEntry:
        metadata.emplace(std::move(metadata_key_), std::move(v));
        state_ = State::Metadata;
        return true;
      case State::DType: {
        RawEntry& e = entries.back();
        e.dtype = find_safetensors_dtype(v);
        if (!e.dtype) fail("unknown dtype " + shown(v) + " for tensor " + shown(e.name));
        state_ = State::Tensor;
        return true;
      }
      default: unexpected("a string");
    }
  }
  bool number_unsigned(json::number_unsigned_t v) {
    RawEntry* e = entries.empty() ? nullptr : &entries.back();
    if (state_ == State::Shape) {
      if (v > static_cast<uint64_t>(INT64_MAX))
        fail("shape of tensor " + shown(e->name) + " has an entry " + std::to_string(v) + " that is too large");
      if (e->shape.size() == kMaxFileDims)
        fail("tensor " + shown(e->name) + " has more than " + std::to_string(kMaxFileDims) + " dimensions");
      e->shape.push_back(static_cast<int64_t>(v));
      return true;
    }
    if (state_ == State::Offsets) {
      if (e->offsets.size() == 2) fail("data_offsets of tensor " + shown(e->name) + " has more than 2 entries");
      e->offsets.push_back(v);
      return true;
    }
    unexpected("a number");
  }
  bool number_integer(json::number_integer_t v) {
    // nlohmann reports non-negative integers through number_unsigned; these are < 0,
    // or "-0", which the reference refuses too.
    if (state_ == State::Shape || state_ == State::Offsets)
      fail(std::string(state_ == State::Shape ? "shape" : "data_offsets") + " of tensor " +
           shown(entries.back().name) + " has a negative entry " + (v == 0 ? "-0" : std::to_string(v)));
    unexpected("a number");
  }
  bool number_float(json::number_float_t, const std::string& text) {
    if (state_ == State::Shape || state_ == State::Offsets)
      fail(std::string(state_ == State::Shape ? "shape" : "data_offsets") + " of tensor " +
           shown(entries.back().name) + " has an entry " + text + " that is not a non-negative integer");
    unexpected("a number");
  }
  bool null() {
    if (state_ == State::MetadataValue) {  // the reference reads "__metadata__": null as no metadata
      state_ = State::Top;
      return true;
    }
    unexpected("null");
  }
  bool boolean(bool) { unexpected("a boolean"); }
  bool binary(json::binary_t&) { unexpected("binary data"); }
  bool parse_error(size_t, const std::string&, const nlohmann::detail::exception& ex) {
    // Drop nlohmann's "[json.exception.parse_error.101] " prefix; keep line and column.
    // The message quotes the last token, which can be as long as the header: cut it.
    std::string what = ex.what();
    if (auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    if (what.size() > 300) what = what.substr(0, 300) + "...";
    fail("header is not valid JSON: " + what);
  }

 private:
  enum class State {
    Start, Top, MetadataValue, Metadata, MetadataEntry,
    TensorValue, Tensor, DType, ShapeStart, Shape, OffsetsStart, Offsets, Done
  };

  [[noreturn]] void fail(const std::string& problem) const { throw FormatError(path_, problem); }

  // A value that does not belong where it stands: say what was expected there.
  [[noreturn]] void unexpected(const std::string& found) const {
    const std::string tensor = entries.empty() ? "" : shown(entries.back().name);
    std::string expected;
    switch (state_) {
      case State::Start: expected = "header is not a JSON object"; break;
      case State::MetadataValue: expected = "__metadata__ is not an object of strings"; break;
      case State::MetadataEntry: expected = "metadata value of " + shown(metadata_key_) + " is not a string"; break;
      case State::TensorValue: expected = "entry of tensor " + tensor + " is not an object"; break;
      case State::DType: expected = "dtype of tensor " + tensor + " is not a string"; break;
      case State::ShapeStart: expected = "shape of tensor " + tensor + " is not an array"; break;
      case State::Shape: expected = "shape of tensor " + tensor + " holds a value that is not an integer"; break;
      case State::OffsetsStart: expected = "data_offsets of tensor " + tensor + " is not an array"; break;
      case State::Offsets: expected = "data_offsets of tensor " + tensor + " holds a value that is not an integer"; break;
      default: expected = "unexpected value in the header"; break;
    }
    fail(expected + " (found " + found + ")");
  }

  void top_key(const std::string& k) {
    if (k == "__metadata__") {
      if (seen_metadata_) fail("duplicate __metadata__");
      seen_metadata_ = true;
      state_ = State::MetadataValue;
      return;
    }
    if (!names_.insert(k).second) fail("duplicate tensor name " + shown(k));
    entries.emplace_back();
    entries.back().name = k;
    state_ = State::TensorValue;
  }

  void tensor_field(const std::string& k) {
    RawEntry& e = entries.back();
    auto once = [&](bool& seen, State next) {
      if (seen) fail("tensor " + shown(e.name) + " has two " + shown(k) + " fields");
      seen = true;
      state_ = next;
    };
    if (k == "dtype") return once(e.has_dtype, State::DType);
    if (k == "shape") return once(e.has_shape, State::ShapeStart);
    if (k == "data_offsets") return once(e.has_offsets, State::OffsetsStart);
    // The reference ignores unknown fields; we refuse them, because a writer that adds
    // fields expects readers to act on them, and we would silently not.
    fail("tensor " + shown(e.name) + " has an unknown field " + shown(k));
  }

  void finish_tensor() const {
    const RawEntry& e = entries.back();
    if (!e.has_dtype) fail("tensor " + shown(e.name) + " has no dtype");
    if (!e.has_shape) fail("tensor " + shown(e.name) + " has no shape");
    if (!e.has_offsets) fail("tensor " + shown(e.name) + " has no data_offsets");
  }

  const std::string& path_;
  State state_ = State::Start;
  bool seen_metadata_ = false;
  std::string metadata_key_;
  std::unordered_set<std::string> names_;
};

// Checks that the entry's shape and dtype account for exactly its byte range.
SafetensorsTensorInfo check_entry(const std::string& path, RawEntry&& e) {
  auto fail = [&](const std::string& problem) { throw FormatError(path, problem); };
  SafetensorsTensorInfo t;
  t.name = std::move(e.name);
  t.dtype = e.dtype;
  t.shape = std::move(e.shape);
  t.begin = e.offsets[0];
  t.end = e.offsets[1];
  if (t.begin > t.end)
    fail("tensor " + shown(t.name) + ": data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
         "] end before they begin");
  // Left to right like the reference, so that the same shapes overflow.
  uint64_t elements = 1, bits = 0;
  for (int64_t d : t.shape)
    if (__builtin_mul_overflow(elements, static_cast<uint64_t>(d), &elements))
      fail("shape " + shape_str(t.shape) + " of tensor " + shown(t.name) + " overflows: its element count exceeds 64 bits");
  if (__builtin_mul_overflow(elements, static_cast<uint64_t>(t.dtype->bits), &bits))
    fail("shape " + shape_str(t.shape) + " of tensor " + shown(t.name) + " overflows: its size in bits exceeds 64 bits");
  if (bits % 8 != 0)
    fail("tensor " + shown(t.name) + ": " + std::to_string(elements) + " elements of " + std::string(t.dtype->name) +
         " do not fill a whole number of bytes");
  if (bits / 8 != t.nbytes())
    fail("tensor " + shown(t.name) + ": " + std::to_string(bits / 8) + " bytes for shape " + shape_str(t.shape) +
         " of " + std::string(t.dtype->name) + " but data_offsets span " + std::to_string(t.nbytes()));
  return t;
}

}  // namespace

const SafetensorsDType* find_safetensors_dtype(std::string_view name) {
  for (const auto& d : kDTypes)
    if (d.name == name) return &d;
  return nullptr;
}

SafetensorsFile::SafetensorsFile(std::string path, std::shared_ptr<Storage> storage)
    : path_(std::move(path)), storage_(std::move(storage)) {}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int e = errno;
    throw FormatError(path, std::string("cannot open: ") + std::strerror(e));
  }
  struct stat st {};
  const int stat_rc = ::fstat(fd, &st);
  const int stat_errno = errno;
  if (stat_rc != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    if (stat_rc != 0) throw FormatError(path, std::string("cannot stat: ") + std::strerror(stat_errno));
    throw FormatError(path, S_ISDIR(st.st_mode) ? "is a directory, not a file" : "is not a regular file");
  }
  const auto size = static_cast<uint64_t>(st.st_size);
  std::shared_ptr<Storage> storage;
  if (size == 0) {
    // mmap refuses length 0; parse() rejects the empty file without reading it.
    storage = std::make_shared<Storage>(nullptr, 0, Device::cpu(), nullptr, true);
  } else {
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const int e = errno;
      ::close(fd);
      throw FormatError(path, std::string("cannot map into memory: ") + std::strerror(e));
    }
    storage = std::make_shared<Storage>(
        p, size, Device::cpu(), [size](void* q) { ::munmap(q, size); }, true);
  }
  ::close(fd);  // the mapping stays valid without the descriptor
  SafetensorsFile f(path, std::move(storage));
  f.parse();
  return f;
}

SafetensorsFile SafetensorsFile::from_bytes(std::vector<uint8_t> bytes, const std::string& name) {
  auto owner = std::make_shared<std::vector<uint8_t>>(std::move(bytes));
  auto storage = std::make_shared<Storage>(
      owner->data(), owner->size(), Device::cpu(), [owner](void*) {}, true);
  SafetensorsFile f(name, std::move(storage));
  f.parse();
  return f;
}

void SafetensorsFile::parse() {
  auto fail = [&](const std::string& problem) { throw FormatError(path_, problem); };
  const uint64_t size = file_size();
  if (size < 8) fail("file is " + byte_count(size) + ": too short for the 8-byte header length");
  const uint64_t n = read_u64_le(file_data());
  if (n > kMaxHeaderLength)
    fail("header length " + std::to_string(n) + " exceeds the " + std::to_string(kMaxHeaderLength) + "-byte limit");
  uint64_t header_end = 0;
  if (__builtin_add_overflow(n, uint64_t{8}, &header_end) || header_end > size)
    fail("header length " + std::to_string(n) + " runs past the end of the file (" + std::to_string(size) +
         " bytes)");
  header_length_ = n;

  const std::string_view header(reinterpret_cast<const char*>(file_data() + 8), n);
  if (size_t bad = find_invalid_utf8(header); bad != std::string_view::npos)
    fail("header is not valid UTF-8 (at byte " + std::to_string(bad) + " of the header)");
  // formats.md: the header starts with '{'. (safetensors 0.8 also skips leading
  // whitespace, but no writer produces it.) Trailing spaces are the writers' padding.
  if (header.empty()) fail("header is empty (header length 0); it must be a JSON object");
  if (header.front() != '{') fail("header does not start with '{': it must be a JSON object");
  HeaderHandler handler(path_);
  nlohmann::json::sax_parse(header.data(), header.data() + header.size(), &handler);
  if (!handler.done()) fail("header is not valid JSON");  // unreachable: the handler throws first
  metadata_ = std::move(handler.metadata);

  std::vector<SafetensorsTensorInfo> tensors;
  tensors.reserve(handler.entries.size());
  for (auto& e : handler.entries) tensors.push_back(check_entry(path_, std::move(e)));
  // File order. Stable, so that empty tensors at the same offset keep header order.
  std::stable_sort(tensors.begin(), tensors.end(), [](const auto& a, const auto& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });

  // The tensors must tile the data buffer from 0 without gaps or overlaps.
  uint64_t covered = 0;
  const SafetensorsTensorInfo* prev = nullptr;
  for (auto& t : tensors) {
    if (t.begin < covered) fail("tensor " + shown(t.name) + " overlaps tensor " + shown(prev->name));
    if (t.begin > covered && !prev)
      fail("data does not start at offset 0: the first tensor " + shown(t.name) + " begins at byte " +
           std::to_string(t.begin));
    if (t.begin > covered)
      fail("gap of " + byte_count(t.begin - covered) + " between tensors " + shown(prev->name) + " and " +
           shown(t.name));
    covered = t.end;
    prev = &t;
  }
  const uint64_t data_size = size - header_end;
  if (covered > data_size)
    fail("tensor " + shown(prev->name) + " ends at byte " + std::to_string(covered) +
         " of the data, but the file holds only " + std::to_string(data_size) + " data bytes (truncated?)");
  if (covered < data_size)
    fail(tensors.empty() ? byte_count(data_size) + " of data but no tensors"
                         : byte_count(data_size - covered) + " after the last tensor");

  for (size_t i = 0; i < tensors.size(); ++i) {
    tensors[i].file_offset = header_end + tensors[i].begin;
    index_.emplace(tensors[i].name, i);
  }
  tensors_ = std::move(tensors);
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  out.reserve(tensors_.size());
  for (const auto& t : tensors_) out.push_back(t.name);
  return out;
}

const SafetensorsTensorInfo& SafetensorsFile::info(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) throw Error(path_ + ": no tensor named " + shown(name));
  return tensors_[it->second];
}

std::span<const uint8_t> SafetensorsFile::bytes(const std::string& name) const {
  const auto& t = info(name);
  return {file_data() + t.file_offset, static_cast<size_t>(t.nbytes())};
}

Tensor SafetensorsFile::get(const std::string& name) const {
  const auto& t = info(name);
  if (!t.dtype->hl)
    throw Error(path_ + ": tensor " + shown(t.name) + " has dtype " + std::string(t.dtype->name) +
                ", which hl tensors do not support (they hold F32, F16, BF16, I32, I64 and U8)");
  if (t.shape.size() > static_cast<size_t>(Shape::kMaxDims))
    throw Error(path_ + ": tensor " + shown(t.name) + " has " + std::to_string(t.shape.size()) +
                " dimensions; hl tensors have at most " + std::to_string(Shape::kMaxDims));
  const DType dtype = *t.dtype->hl;
  const Shape shape(t.shape);
  const uint8_t* p = file_data() + t.file_offset;
  if (reinterpret_cast<uintptr_t>(p) % dtype_size(dtype) != 0) {
    Tensor copy = Tensor::empty(shape, dtype);
    if (t.nbytes() != 0) std::memcpy(copy.raw(), p, t.nbytes());
    return copy;
  }
  return Tensor(storage_, t.file_offset, shape, dtype);
}

// ---------------------------------------------------------------------------------
// Writer

namespace {

[[noreturn]] void write_fail(const std::string& path, const std::string& problem) {
  throw Error(path + ": " + problem);
}

void check_names(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                 const std::map<std::string, std::string>& metadata) {
  std::unordered_set<std::string> seen;
  for (const auto& [name, t] : tensors) {
    if (name.empty()) write_fail(path, "a tensor has an empty name");
    if (name == "__metadata__") write_fail(path, "a tensor may not be named __metadata__ (the metadata's key)");
    if (find_invalid_utf8(name) != std::string_view::npos) write_fail(path, "tensor name is not valid UTF-8");
    if (!seen.insert(name).second) write_fail(path, "duplicate tensor name " + shown(name));
    if (!t.defined()) write_fail(path, "tensor " + shown(name) + " is undefined");
  }
  for (const auto& [k, v] : metadata)
    if (find_invalid_utf8(k) != std::string_view::npos || find_invalid_utf8(v) != std::string_view::npos)
      write_fail(path, "metadata key or value is not valid UTF-8");
}

using NamedTensor = std::pair<std::string, Tensor>;

// File order: by element size, largest first, otherwise as given (stable). The format
// allows no padding between tensors, so this is the only way to start every tensor at a
// multiple of its element size (each earlier tensor's size is a multiple of a larger
// power of two) and so keep every view zero-copy. The reference writer orders the same.
std::vector<const NamedTensor*> file_order(const std::vector<NamedTensor>& tensors) {
  std::vector<const NamedTensor*> order;
  order.reserve(tensors.size());
  for (const auto& t : tensors) order.push_back(&t);
  std::stable_sort(order.begin(), order.end(), [](const NamedTensor* a, const NamedTensor* b) {
    return dtype_size(a->second.dtype()) > dtype_size(b->second.dtype());
  });
  return order;
}

// The JSON header, tensors in file order, padded with spaces to a multiple of 8 so that
// the data buffer starts 8-byte aligned.
std::string make_header(const std::vector<const NamedTensor*>& order,
                        const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const NamedTensor* nt : order) {
    const Tensor& t = nt->second;
    nlohmann::ordered_json shape = nlohmann::ordered_json::array();
    for (int64_t d : t.shape().vec()) shape.push_back(static_cast<uint64_t>(d));
    const uint64_t end = offset + t.nbytes();
    header[nt->first] = {{"dtype", std::string(dtype_name(t.dtype()))},
                         {"shape", std::move(shape)},
                         {"data_offsets", {offset, end}}};
    offset = end;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

}  // namespace

void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  check_names(path, tensors, metadata);
  const auto order = file_order(tensors);
  const std::string header = make_header(order, metadata);
  if (header.size() > kMaxHeaderLength)
    write_fail(path, "header of " + std::to_string(header.size()) + " bytes exceeds the " +
                         std::to_string(kMaxHeaderLength) + "-byte limit that readers enforce");
  uint8_t length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<uint8_t>(static_cast<uint64_t>(header.size()) >> (8 * i));

  AtomicFile file(path);  // temporary + fsync + rename: readers never see a partial file
  file.write(length, 8);
  file.write(header.data(), header.size());
  for (const NamedTensor* nt : order) {
    // One tensor at a time on the host, so a model on the GPU needs no second full copy.
    const Tensor& t = nt->second;
    const Tensor host = t.device().is_cpu() ? t : t.to(Device::cpu());
    if (host.nbytes() != 0) file.write(host.raw(), host.nbytes());
  }
  file.commit();
}

}  // namespace hl
