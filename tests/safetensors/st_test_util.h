// Helpers shared by the safetensors tests: building raw files byte by byte.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace hl::test {

// st_file: u64 little-endian length, the header text as given, then `data`.
// st_file_with_length: the same with a length field that says `n`, true or not.
// (Sized once and filled with std::copy: GCC 12 warns falsely, -Warray-bounds, about
// vector::insert into a fresh 8-byte vector.)
inline std::vector<uint8_t> st_file_with_length(uint64_t n, const std::string& rest,
                                                const std::vector<uint8_t>& data = {}) {
  std::vector<uint8_t> out(8 + rest.size() + data.size());
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(n >> (8 * i));
  std::copy(rest.begin(), rest.end(), out.begin() + 8);
  std::copy(data.begin(), data.end(), out.begin() + 8 + static_cast<std::ptrdiff_t>(rest.size()));
  return out;
}

inline std::vector<uint8_t> st_file(const std::string& header, const std::vector<uint8_t>& data = {}) {
  return st_file_with_length(header.size(), header, data);
}

}  // namespace hl::test
