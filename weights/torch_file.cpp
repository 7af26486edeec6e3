// See torch_file.h. The file is mapped read-only; the zip path copies each storage entry
// into an owning buffer (which a tensor that is exactly its storage then adopts without a
// second copy), the legacy path copies tensors straight out of the mapping.
#include "weights/torch_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <set>
#include <unordered_map>

#include "weights/torch_pickle.h"
#include "weights/quoted_name.h"
#include "weights/torch_zip.h"

namespace hl {

namespace {

using torch_pickle::Kind;
using torch_pickle::StorageType;
using torch_pickle::Value;

// 0x1950a86a20f9469cfc6c, the first pickle of a legacy file, as LONG1 stores it.
constexpr uint8_t kLegacyMagic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
constexpr int64_t kLegacyProtocol = 1001;

// The tensors of a file may share storages, so their total may exceed the file; beyond
// this factor it is a hostile file repeating views of one large storage.
constexpr uint64_t kOutputBudgetFactor = 4;
constexpr uint64_t kOutputBudgetSlack = uint64_t{1} << 20;
// The text of `other`: one shared list named by a million keys must not become gigabytes.
constexpr size_t kMaxOtherText = size_t{16} << 20;

// A storage's bytes, inside the mapping (legacy) or in a buffer of its own (zip).
struct StorageBytes {
  const uint8_t* data = nullptr;
  uint64_t nbytes = 0;
  std::shared_ptr<Storage> owner;  // zip: the buffer, which a tensor may adopt
};

struct Conversion {
  DType dtype;
  bool raw;  // same bytes, no conversion
};

Conversion conversion(StorageType t) {
  switch (t) {
    case StorageType::Float: return {DType::F32, true};
    case StorageType::Half: return {DType::F16, true};
    case StorageType::BFloat16: return {DType::BF16, true};
    case StorageType::Long: return {DType::I64, true};
    case StorageType::Int: return {DType::I32, true};
    case StorageType::Byte: return {DType::U8, true};
    case StorageType::Double: return {DType::F32, false};
    case StorageType::Short: return {DType::I32, false};
    case StorageType::Char: return {DType::I32, false};
    case StorageType::Bool: return {DType::U8, false};
  }
  return {DType::U8, true};
}

std::string quoted(const std::string& name) { return quoted_name(name, 80); }

// The file, mapped read-only.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path) {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
      const int e = errno;
      throw FormatError(path, std::string("cannot open: ") + std::strerror(e));
    }
    struct stat st {};
    const int rc = ::fstat(fd, &st);
    const int e = errno;
    if (rc != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      if (rc != 0) throw FormatError(path, std::string("cannot stat: ") + std::strerror(e));
      throw FormatError(path, S_ISDIR(st.st_mode) ? "is a directory, not a file" : "is not a regular file");
    }
    size_ = static_cast<size_t>(st.st_size);
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        const int me = errno;
        ::close(fd);
        throw FormatError(path, std::string("cannot map into memory: ") + std::strerror(me));
      }
      data_ = static_cast<const uint8_t*>(p);
    }
    ::close(fd);
  }
  ~MappedFile() {
    if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  std::span<const uint8_t> bytes() const { return {data_, size_}; }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

class Reader {
 public:
  Reader(std::span<const uint8_t> bytes, const std::string& path) : in_(bytes), path_(path) {}
  TorchFile read();

 private:
  [[noreturn]] void fail(const std::string& problem) const { throw FormatError(path_, problem); }
  void add_other(const std::string& key, const Value& value);
  void read_zip();
  void read_legacy();
  // Splits the unpickled object into the state dict's tensors and `other`.
  void collect(const Value& root);
  void materialise();
  Tensor materialise_one(const std::string& name, const Value& t, const StorageBytes& s, bool sole_user) const;

  std::span<const uint8_t> in_;
  std::string path_;
  TorchFile out_;
  torch_pickle::Pickle object_;
  std::vector<std::pair<std::string, const Value*>> tensors_;  // the state dict's, in order
  std::unordered_map<const Value*, StorageBytes> storage_bytes_;  // by Storage value
  size_t other_text_ = 0;  // bytes of text in out_.other
};

void Reader::add_other(const std::string& key, const Value& value) {
  std::string text = torch_pickle::to_text(value);
  other_text_ += key.size() + text.size();
  if (other_text_ > kMaxOtherText)
    fail("the entries that are not tensors take more than " + std::to_string(kMaxOtherText >> 20) + " MiB as text");
  out_.other[key] = std::move(text);
}

TorchFile Reader::read() {
  out_.path = path_;
  if (in_.empty()) fail("empty file (0 bytes): not a PyTorch file");
  if (in_.size() >= 4 && std::memcmp(in_.data(), "PK\x03\x04", 4) == 0) {
    out_.format = "zip";
    read_zip();
  } else if (in_[0] == 0x80) {
    out_.format = "legacy";
    read_legacy();
  } else if (in_.size() >= 262 && std::memcmp(in_.data() + 257, "ustar", 5) == 0) {
    fail("a tar archive: the tar format of PyTorch < 0.1.10 is not supported (load and re-save it with a newer "
         "PyTorch)");
  } else {
    fail("not a PyTorch file: it starts with neither a zip signature (PK\\x03\\x04) nor a pickle (\\x80)");
  }
  materialise();
  return std::move(out_);
}

void Reader::read_zip() {
  const torch_zip::Archive zip(in_, path_);
  const std::string& folder = zip.folder();
  if (const auto n = zip.entry_size("byteorder")) {
    if (*n > 16) fail("zip entry '" + folder + "/byteorder' is " + std::to_string(*n) + " bytes, not 'little'");
    std::string order(*n, '\0');
    zip.read("byteorder", order.data(), *n);
    if (order == "big") fail("the file is big-endian (byteorder 'big'); re-save it on a little-endian machine");
    if (order != "little") fail("zip entry '" + folder + "/byteorder' says " + quoted(order) + ", not 'little'");
  }
  const auto pkl_size = zip.entry_size("data.pkl");
  if (!pkl_size) fail("zip archive has no '" + folder + "/data.pkl' (not a torch.save file?)");
  std::vector<uint8_t> pkl(*pkl_size);
  zip.read("data.pkl", pkl.data(), pkl.size());
  object_ = torch_pickle::unpickle(pkl, path_, folder + "/data.pkl");
  if (object_.end() != pkl.size())
    fail(folder + "/data.pkl: " + std::to_string(pkl.size() - object_.end()) + " bytes after the pickle's STOP");
  collect(object_.root());
  // Only the storages the state dict's tensors use are read. Their total cannot exceed
  // the archive (two directory records could point at the same bytes).
  uint64_t total = 0;
  for (const auto& [name, t] : tensors_) {
    const Value& s = t->tensor_storage();
    if (storage_bytes_.count(&s)) continue;
    const std::string entry = "data/" + s.text;
    const size_t es = torch_pickle::storage_element_size(s.storage_type);
    uint64_t nbytes = 0;
    if (__builtin_mul_overflow(static_cast<uint64_t>(s.integer), es, &nbytes) || nbytes > in_.size())
      fail("storage " + quoted(s.text) + " declares " + std::to_string(s.integer) + " elements, more than the file holds");
    const auto size = zip.entry_size(entry);
    if (!size) fail("zip archive has no '" + folder + "/" + entry + "' (the data of storage " + quoted(s.text) + ")");
    if (*size != nbytes)
      fail("zip entry '" + folder + "/" + entry + "' holds " + std::to_string(*size) + " bytes, but its storage declares " +
           std::to_string(s.integer) + " " + std::string(torch_pickle::storage_type_name(s.storage_type)) +
           " elements (" + std::to_string(nbytes) + " bytes)");
    if (__builtin_add_overflow(total, nbytes, &total) || total > in_.size())
      fail("the storages add up to more bytes than the file holds");
    StorageBytes b;
    b.owner = Storage::host(nbytes);
    zip.read(entry, b.owner->data(), nbytes);
    b.data = static_cast<const uint8_t*>(b.owner->data());
    b.nbytes = nbytes;
    storage_bytes_.emplace(&s, std::move(b));
  }
}

void Reader::read_legacy() {
  size_t pos = 0;
  auto next = [&](const char* what) {
    torch_pickle::Pickle p = torch_pickle::unpickle(in_.subspan(pos), path_, std::string("legacy ") + what, pos);
    pos += p.end();
    return p;
  };
  const torch_pickle::Pickle magic = next("magic number");
  const Value& m = magic.root();
  if (m.kind != Kind::BigInt || m.text != std::string(reinterpret_cast<const char*>(kLegacyMagic), sizeof kLegacyMagic))
    fail("not a PyTorch file: a pickle, but not the magic number of the legacy torch.save format");
  const torch_pickle::Pickle protocol = next("protocol version");
  if (protocol.root().kind != Kind::Int || protocol.root().integer != kLegacyProtocol)
    fail("legacy protocol version is " + torch_pickle::to_text(protocol.root(), 40) + ", not 1001");
  const torch_pickle::Pickle sys_info = next("sys_info");
  const Value* little = sys_info.root().get("little_endian");
  if (!little || little->kind != Kind::Bool)
    fail("legacy sys_info does not say whether the file is little-endian");
  if (!little->integer) fail("the file is big-endian (sys_info little_endian=False); re-save it on a little-endian machine");
  object_ = next("object");
  const torch_pickle::Pickle keys = next("storage keys");
  if (keys.root().kind != Kind::List) fail("legacy storage keys are not a list");
  std::unordered_map<std::string, const Value*> by_key;
  for (const Value* s : object_.storages()) by_key.emplace(s->text, s);
  for (const Value* k : keys.root().items) {
    if (k->kind != Kind::String) fail("a legacy storage key is a " + std::string(torch_pickle::kind_name(k->kind)));
    const auto it = by_key.find(k->text);
    if (it == by_key.end()) fail("storage " + quoted(k->text) + " has data in the file but no tensor names it");
    const Value& s = *it->second;
    if (storage_bytes_.count(&s)) fail("storage " + quoted(k->text) + " is listed twice");
    if (in_.size() - pos < 8)
      fail("truncated: the element count of storage " + quoted(k->text) + " at byte " + std::to_string(pos) +
           " is missing");
    int64_t count = 0;
    std::memcpy(&count, in_.data() + pos, 8);
    pos += 8;
    if (count != s.integer)
      fail("storage " + quoted(k->text) + " holds " + std::to_string(count) + " elements but its tensors declare " +
           std::to_string(s.integer));
    uint64_t nbytes = 0;
    if (__builtin_mul_overflow(static_cast<uint64_t>(count), torch_pickle::storage_element_size(s.storage_type), &nbytes) ||
        nbytes > in_.size() - pos)
      fail("truncated: storage " + quoted(k->text) + " (" + std::to_string(count) + " " +
           std::string(torch_pickle::storage_type_name(s.storage_type)) + " elements at byte " + std::to_string(pos) +
           ") runs past the end of the file");
    storage_bytes_.emplace(&s, StorageBytes{in_.data() + pos, nbytes, nullptr});
    pos += nbytes;
  }
  if (pos != in_.size()) fail(std::to_string(in_.size() - pos) + " bytes after the last storage");
  collect(object_.root());
  for (const auto& [name, t] : tensors_)
    if (!storage_bytes_.count(&t->tensor_storage()))
      fail("tensor " + quoted(name) + ": its storage " + quoted(t->tensor_storage().text) + " has no data in the file");
}

void Reader::collect(const Value& root) {
  if (root.kind != Kind::Dict)
    fail("the file holds a " + std::string(torch_pickle::kind_name(root.kind)) + ", not a state dict (a dict of tensors)");
  const Value* state = root.get("state_dict");
  const bool nested = state && state->kind == Kind::Dict;
  if (!nested) state = &root;
  auto key_text = [](const Value& k) { return k.kind == Kind::String ? k.text : torch_pickle::to_text(k, 200); };
  if (nested) {
    for (size_t i = 0; i + 1 < root.items.size(); i += 2)
      if (root.items[i + 1] != state) add_other(key_text(*root.items[i]), *root.items[i + 1]);
  }
  for (size_t i = 0; i + 1 < state->items.size(); i += 2) {
    const Value& key = *state->items[i];
    const Value& value = *state->items[i + 1];
    if (value.kind == Kind::Tensor) {
      if (key.kind != Kind::String)
        fail("a state dict key is " + torch_pickle::to_text(key, 80) + ", not a string");
      tensors_.emplace_back(key.text, &value);
    } else {
      add_other((nested ? "state_dict." : "") + key_text(key), value);
    }
  }
}

void Reader::materialise() {
  // How many state-dict tensors use each storage: a storage with one user that it covers
  // exactly is adopted rather than copied.
  std::unordered_map<const Value*, int> users;
  uint64_t budget = 0, total = 0;
  if (__builtin_mul_overflow(static_cast<uint64_t>(in_.size()), kOutputBudgetFactor, &budget)) budget = UINT64_MAX;
  budget = budget > UINT64_MAX - kOutputBudgetSlack ? UINT64_MAX : budget + kOutputBudgetSlack;
  for (const auto& [name, t] : tensors_) {
    ++users[&t->tensor_storage()];
    int64_t numel = 1;
    for (size_t k = 0; k < t->tensor_ndim(); ++k) numel *= t->dims[k];  // checked by the unpickler
    uint64_t nbytes = 0;
    if (__builtin_mul_overflow(static_cast<uint64_t>(numel), dtype_size(conversion(t->tensor_storage().storage_type).dtype),
                               &nbytes) ||
        __builtin_add_overflow(total, nbytes, &total) || total > budget)
      fail("the tensors would take more than " + std::to_string(kOutputBudgetFactor) +
           " times the file's size in memory (many views of the same storage?)");
  }
  out_.tensors.reserve(tensors_.size());
  for (const auto& [name, t] : tensors_) {
    const Value* s = &t->tensor_storage();
    out_.tensors.emplace_back(name, materialise_one(name, *t, storage_bytes_.at(s), users[s] == 1));
  }
}

Tensor Reader::materialise_one(const std::string& name, const Value& t, const StorageBytes& s, bool sole_user) const {
  const size_t ndim = t.tensor_ndim();
  if (ndim > static_cast<size_t>(Shape::kMaxDims))
    fail("tensor " + quoted(name) + " has " + std::to_string(ndim) + " dimensions; hl tensors have at most 5");
  const StorageType type = t.tensor_storage().storage_type;
  const size_t es = torch_pickle::storage_element_size(type);
  const Conversion conv = conversion(type);
  const Shape shape(std::vector<int64_t>(t.dims.begin(), t.dims.begin() + static_cast<std::ptrdiff_t>(ndim)));
  const int64_t* stride = t.dims.data() + ndim;
  const int64_t numel = shape.numel();
  // Contiguous: each stride is the product of the later sizes (sizes of 1 may have any).
  bool contiguous = true;
  int64_t expected = 1;
  for (size_t k = ndim; k-- > 0;) {
    if (shape[static_cast<int>(k)] != 1 && stride[k] != expected) contiguous = false;
    expected *= shape[static_cast<int>(k)];
  }
  if (conv.raw && s.owner && sole_user && contiguous && t.integer == 0 &&
      static_cast<uint64_t>(numel) * es == s.nbytes)
    return Tensor(s.owner, 0, shape, conv.dtype);

  // Gather the addressed elements in order (the unpickler checked they are all inside
  // the storage's declared numel, and the readers that numel against the bytes).
  std::vector<uint8_t> gathered;
  uint8_t* dst = nullptr;
  Tensor result = Tensor::empty(shape, conv.dtype);
  if (conv.raw) {
    dst = static_cast<uint8_t*>(result.raw());
  } else {
    gathered.resize(static_cast<size_t>(numel) * es);
    dst = gathered.data();
  }
  if (numel > 0) {
    const int64_t inner = ndim ? shape[static_cast<int>(ndim) - 1] : 1;
    const int64_t inner_stride = ndim ? stride[ndim - 1] : 1;
    std::vector<int64_t> index(ndim, 0);
    for (int64_t done = 0; done < numel; done += inner) {
      int64_t at = t.integer;
      for (size_t k = 0; k + 1 < ndim; ++k) at += index[k] * stride[k];
      if (inner_stride == 1) {
        std::memcpy(dst, s.data + at * static_cast<int64_t>(es), static_cast<size_t>(inner) * es);
        dst += inner * static_cast<int64_t>(es);
      } else {
        for (int64_t i = 0; i < inner; ++i, dst += es) std::memcpy(dst, s.data + (at + i * inner_stride) * static_cast<int64_t>(es), es);
      }
      for (size_t k = ndim - (ndim ? 1 : 0); k-- > 0;) {  // odometer over the outer dimensions
        if (++index[k] < shape[static_cast<int>(k)]) break;
        index[k] = 0;
      }
    }
  }
  if (!conv.raw) {
    const uint8_t* src = gathered.data();
    const size_t n = static_cast<size_t>(numel);
    switch (type) {
      case StorageType::Double: {
        float* out = result.data<float>();
        for (size_t i = 0; i < n; ++i) {
          double d;
          std::memcpy(&d, src + 8 * i, 8);
          out[i] = static_cast<float>(d);
        }
        break;
      }
      case StorageType::Short: {
        int32_t* out = result.data<int32_t>();
        for (size_t i = 0; i < n; ++i) {
          int16_t v;
          std::memcpy(&v, src + 2 * i, 2);
          out[i] = v;
        }
        break;
      }
      case StorageType::Char: {
        int32_t* out = result.data<int32_t>();
        for (size_t i = 0; i < n; ++i) out[i] = static_cast<int8_t>(src[i]);
        break;
      }
      case StorageType::Bool: {
        uint8_t* out = result.data<uint8_t>();
        for (size_t i = 0; i < n; ++i) out[i] = src[i] != 0;
        break;
      }
      default: break;  // the raw types were copied above
    }
  }
  return result;
}

}  // namespace

TorchFile read_torch_bytes(std::span<const uint8_t> bytes, const std::string& name) {
  return Reader(bytes, name).read();
}

TorchFile read_torch_file(const std::string& path) {
  const MappedFile file(path);
  return Reader(file.bytes(), path).read();
}

bool looks_like_torch_file(const std::string& path) {
  std::string ext;
  const size_t dot = path.find_last_of('.');
  if (dot != std::string::npos && path.find('/', dot) == std::string::npos) ext = path.substr(dot);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext == ".pth" || ext == ".pt" || ext == ".tar" || ext == ".bin") return true;
  uint8_t head[4] = {};
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return false;
  struct stat st {};
  ssize_t n = 0;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) n = ::read(fd, head, sizeof head);
  ::close(fd);
  return (n >= 4 && std::memcmp(head, "PK\x03\x04", 4) == 0) || (n >= 2 && head[0] == 0x80 && head[1] == 0x02);
}

}  // namespace hl
