// Philox-based uniform and normal numbers; see kernels/cpu/random.h for the stream layout.
#include "kernels/cpu/random.h"

#include <algorithm>
#include <cmath>

#include "kernels/common/philox.h"
#include "kernels/cpu/philox_fill.h"

namespace hl::cpu {

namespace {
constexpr int64_t kChunk = 4096;  // words drawn at a time (16 KiB on the stack)
}  // namespace

void uniform_f32(uint64_t seed, uint64_t offset, float* y, int64_t n, float lo, float hi) {
  uint32_t words[kChunk];
  for (int64_t start = 0; start < n; start += kChunk) {
    const int64_t m = std::min<int64_t>(kChunk, n - start);
    philox_fill(seed, offset + static_cast<uint64_t>(start), words, m);
    for (int64_t i = 0; i < m; ++i) y[start + i] = lo + (hi - lo) * philox_uniform(words[i]);
  }
}

void normal_f32(uint64_t seed, uint64_t offset, float* y, int64_t n, float mean, float std) {
  constexpr double kTwoPi = 6.283185307179586476925286766559;
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t j = offset + static_cast<uint64_t>(i);
    const double u1 = philox_uniform(philox_word(seed, 2 * j));
    const double u2 = philox_uniform(philox_word(seed, 2 * j + 1));
    const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(kTwoPi * u2);
    y[i] = static_cast<float>(mean + std * z);
  }
}

}  // namespace hl::cpu
