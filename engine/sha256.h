// SHA-256 (FIPS 180-4): fingerprints of source videos (pipeline/extract) and of weight
// files (weights/, hl-convert), so that a feature or weights file records exactly what it
// was made from. Tests: tests/tools/test_hl_extract.cpp (FIPS 180-4 / NIST vectors) and
// the sha256sum command line.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace hl {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t n);
  // The digest as 64 lower-case hex digits. The object is spent afterwards.
  std::string hex_digest();

 private:
  void block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t buffered_ = 0;
  uint64_t length_ = 0;  // bytes so far
};

std::string sha256_hex(std::span<const uint8_t> bytes);

// SHA-256 of a whole regular file, read 1 MiB at a time; `size` (optional) receives its
// length in bytes. Throws hl::FormatError naming the file when it is missing, not a
// regular file (a FIFO would block), or cannot be read.
std::string sha256_file(const std::string& path, uint64_t* size = nullptr);

}  // namespace hl
