// The zip container of torch.save files (PyTorch >= 1.6), read through libzip from bytes
// in memory (the mapped file).
//
// Every record sits under one top folder whose name is taken from the first entry (it is
// the file's stem when saved, "archive" by default: never assumed). Sizes, offsets and
// compression methods come from the central directory (torch writes zero sizes in the
// local headers and data descriptors after the data); ZIP64 is handled by libzip. Only
// stored (uncompressed), unencrypted entries are read: torch never compresses, and the
// size a compressed entry declares could not be checked against the file before it is
// inflated. Every read is checked against the entry's CRC-32.
//
// In a build without libzip (weights/CMakeLists.txt finds it through pkg-config), opening
// an archive throws hl::Error saying so; everything else still builds and works.
//
// Tested through read_torch_file by tests/weights/test_torch_file.cpp (archives torch.save
// wrote) and tests/weights/test_torch_hostile.cpp (truncated, broken and compressed ones).
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>

struct zip;  // libzip's archive handle (zip_t)

namespace hl::torch_zip {

// True when this build links libzip.
bool available();

class Archive {
 public:
  // Opens the archive in `bytes`, which must outlive this object. Throws
  // hl::FormatError(path, ...) when libzip refuses it or it has no entries.
  Archive(std::span<const uint8_t> bytes, const std::string& path);
  ~Archive();
  Archive(const Archive&) = delete;
  Archive& operator=(const Archive&) = delete;

  // The top folder, e.g. "archive".
  const std::string& folder() const { return folder_; }
  // The size in bytes of "<folder>/<name>", or nullopt when there is no such entry.
  // Throws when the entry is compressed, encrypted or larger than the archive itself.
  std::optional<uint64_t> entry_size(const std::string& name) const;
  // Reads all `size` bytes of "<folder>/<name>" (its entry_size) into dst and checks the
  // CRC. Throws hl::FormatError naming the entry on any failure.
  void read(const std::string& name, void* dst, uint64_t size) const;

 private:
  std::string entry_name(const std::string& name) const { return folder_ + "/" + name; }
  std::string path_;
  // maybe_unused: a build without libzip never gets past the constructor.
  [[maybe_unused]] uint64_t archive_size_ = 0;
  [[maybe_unused]] struct zip* zip_ = nullptr;
  std::string folder_;
};

}  // namespace hl::torch_zip
