// CRC-32C (Castagnoli), as LevelDB tables and TensorFlow tensor bundles store it: the
// plain CRC of the bytes, and the "masked" form kept next to data that may itself
// contain CRCs (LevelDB's util/crc32c.h: rotate right by 15, add 0xa282ead8).
//
// Tests: tests/weights/test_tf_checkpoint.cpp (the published check value of "123456789"
// and the CRCs TensorFlow stored in the fixtures).
#pragma once
#include <cstddef>
#include <cstdint>

namespace hl::crc32c {

// CRC-32C of `n` bytes, continuing from `crc` (0 to start).
uint32_t extend(uint32_t crc, const void* data, size_t n);
inline uint32_t value(const void* data, size_t n) { return extend(0, data, n); }

constexpr uint32_t kMaskDelta = 0xa282ead8u;
constexpr uint32_t mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + kMaskDelta; }
constexpr uint32_t unmask(uint32_t masked) {
  const uint32_t rot = masked - kMaskDelta;
  return (rot >> 17) | (rot << 15);
}

}  // namespace hl::crc32c
