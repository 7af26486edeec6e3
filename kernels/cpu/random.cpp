// Philox-based uniform and normal numbers; see kernels/cpu/random.h for the stream layout.
#include "kernels/cpu/random.h"

#include <cmath>

#include "kernels/common/philox.h"

namespace hl::cpu {

void uniform_f32(uint64_t seed, uint64_t offset, float* y, int64_t n, float lo, float hi) {
  for (int64_t i = 0; i < n; ++i) {
    float u = philox_uniform(philox_word(seed, offset + static_cast<uint64_t>(i)));
    y[i] = lo + (hi - lo) * u;
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
