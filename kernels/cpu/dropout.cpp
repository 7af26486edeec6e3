#include "kernels/cpu/dropout.h"

#include <algorithm>

#include "kernels/common/philox.h"
#include "kernels/cpu/philox_fill.h"
#include "kernels/cpu/vec_math.h"

namespace hl::cpu {

template <typename T>
void dropout_mask(uint64_t seed, uint64_t offset, T p, T* mask, int64_t n) {
  const T keep_scale = T(1) / (T(1) - p);
  constexpr int64_t kChunk = 4096;  // words drawn at a time (16 KiB on the stack)
  uint32_t words[kChunk];
  for (int64_t start = 0; start < n; start += kChunk) {
    const int64_t m = std::min<int64_t>(kChunk, n - start);
    philox_fill(seed, offset + static_cast<uint64_t>(start), words, m);
    for (int64_t i = 0; i < m; ++i) {
      const float u = philox_uniform(words[i]);  // (0, 1]
      mask[start + i] = static_cast<T>(u) > p ? keep_scale : T(0);
    }
  }
}

HL_SIMD_CLONES void mul_mask_over_time_f32(const float* x, const float* mask, float* y, int64_t batch, int64_t time,
                                           int64_t features) {
  for (int64_t b = 0; b < batch; ++b) {
    const float* m = mask + b * features;
    for (int64_t t = 0; t < time; ++t) {
      const int64_t row = (b * time + t) * features;
      for (int64_t f = 0; f < features; ++f) y[row + f] = x[row + f] * m[f];
    }
  }
}

template void dropout_mask<float>(uint64_t, uint64_t, float, float*, int64_t);
template void dropout_mask<double>(uint64_t, uint64_t, double, double*, int64_t);

}  // namespace hl::cpu
