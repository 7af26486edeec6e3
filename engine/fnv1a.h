// 64-bit FNV-1a hash of a byte string (offset basis 0xcbf29ce484222325, prime
// 0x100000001b3). Used where hl needs a stable, platform-independent hash of a short
// name: shard membership of a video id (pipeline/extract), the Philox offset of a
// parameter's initial values (nets/parameter_set). Not a cryptographic hash.
// Tests: tests/tools/test_hl_extract.cpp (the published test vectors).
#pragma once
#include <cstdint>
#include <string_view>

namespace hl {

constexpr uint64_t fnv1a64(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace hl
