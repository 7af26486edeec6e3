// safetensors files: a memory-mapped, fully validating reader and an atomic writer.
//
// Layout (docs/formats.md): u64 little-endian header length N, N bytes of UTF-8 JSON
// (name -> {dtype, shape, data_offsets [begin, end)} and an optional "__metadata__"
// string -> string map), then the data buffer, which the tensors tile exactly.
//
// The reader checks every rule of the format against the real size of the file before
// it touches the data, and throws hl::FormatError(path, problem) naming the first broken
// rule. It never allocates more than the header's own size justifies.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace hl {

// An element type as a safetensors header names it. Files may hold types an hl Tensor
// cannot (F64, BOOL, F8_E4M3, ...): info() describes those, bytes() returns their raw
// bytes, and get() refuses them.
struct SafetensorsDType {
  std::string_view name;    // "F32", "F8_E4M3", ...
  int bits;                 // per element: 4 (F4), 6 (F6_*), 8, 16, 32 or 64
  std::optional<DType> hl;  // the Tensor dtype with the same bytes, when there is one
};

// The entry for a dtype name (case-sensitive, as the format is); nullptr if unknown.
const SafetensorsDType* find_safetensors_dtype(std::string_view name);

// One tensor's header entry, after validation.
struct SafetensorsTensorInfo {
  std::string name;
  const SafetensorsDType* dtype = nullptr;
  std::vector<int64_t> shape;  // every entry >= 0; may have more than 5 dimensions
  uint64_t begin = 0;          // [begin, end): bytes within the data buffer
  uint64_t end = 0;
  uint64_t file_offset = 0;    // where `begin` lies in the file (8 + N + begin)
  uint64_t nbytes() const { return end - begin; }
};

class SafetensorsFile {
 public:
  // Maps the file read-only and validates it.
  static SafetensorsFile open(const std::string& path);
  // Validates an in-memory file; `name` stands in for the path in error messages.
  static SafetensorsFile from_bytes(std::vector<uint8_t> bytes, const std::string& name);

  const std::string& path() const { return path_; }
  uint64_t file_size() const { return storage_->nbytes(); }
  uint64_t header_length() const { return header_length_; }  // N, the JSON's size
  // "__metadata__"; empty when the file has none (absent or null).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // Every tensor, in file (offset) order.
  const std::vector<SafetensorsTensorInfo>& tensors() const { return tensors_; }
  std::vector<std::string> names() const;  // in file (offset) order
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  // Throws hl::Error naming the file when there is no such tensor.
  const SafetensorsTensorInfo& info(const std::string& name) const;

  // A CPU tensor viewing the mapping without a copy: its storage is read-only and keeps
  // the mapping alive after this object is gone. The one exception: data that is not
  // aligned to its element size (possible only in files that no reference writer
  // produces) is copied into fresh memory, because typed loads from it would be
  // undefined behaviour. Throws hl::Error for dtypes Tensor lacks (see
  // SafetensorsDType::hl) and for shapes of more than 5 dimensions.
  Tensor get(const std::string& name) const;
  // The tensor's raw little-endian bytes inside the mapping, for any dtype. Valid while
  // this object (or a tensor from get()) is alive.
  std::span<const uint8_t> bytes(const std::string& name) const;

 private:
  SafetensorsFile(std::string path, std::shared_ptr<Storage> storage);
  void parse();
  const uint8_t* file_data() const { return static_cast<const uint8_t*>(storage_->data()); }

  std::string path_;
  std::shared_ptr<Storage> storage_;  // the whole file, read-only; owns the mapping
  uint64_t header_length_ = 0;
  std::map<std::string, std::string> metadata_;
  std::vector<SafetensorsTensorInfo> tensors_;  // sorted by begin
  std::unordered_map<std::string, size_t> index_;  // name -> position in tensors_
};

// Writes `tensors` (CUDA tensors are copied to the host one at a time) and `metadata` to
// `path`. The file holds the tensors ordered by element size, largest first, otherwise
// in the given order, and its header is padded with spaces to a multiple of 8 bytes:
// together these start every tensor at a multiple of its element size, so that get()
// on the file is always zero-copy. The file is written to a new "<path>.tmp.<pid>.<n>",
// flushed to disk and renamed over `path` (then the directory is flushed), so readers
// never see a partial file; on any failure the temporary file is removed and an existing file at
// `path` is left as it was. Names must be non-empty, unique, valid UTF-8 and not
// "__metadata__". Throws hl::Error naming the file.
void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace hl
