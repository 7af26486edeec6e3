#include "kernels/cpu/dropout.h"

#include <algorithm>

#include "kernels/common/philox.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/philox_fill.h"
#include "kernels/cpu/vec_math.h"

namespace hl::cpu {

template <typename T>
void dropout_mask(uint64_t seed, uint64_t offset, T p, T* mask, int64_t n) {
  const T keep_scale = T(1) / (T(1) - p);
  constexpr int64_t kChunk = 4096;  // words drawn at a time (16 KiB on the stack)
  // Element i always comes from stream word offset + i, so any split over threads gives
  // the same mask.
  // Captured by value: through references, the stores to mask could alias p and
  // keep_scale, and the loop would reload them and not vectorise.
  parallel_for((n + kChunk - 1) / kChunk, 16, [=](int64_t c0, int64_t c1) {
    uint32_t words[kChunk];
    for (int64_t start = c0 * kChunk; start < std::min(n, c1 * kChunk); start += kChunk) {
      const int64_t m = std::min<int64_t>(kChunk, n - start);
      philox_fill(seed, offset + static_cast<uint64_t>(start), words, m);
      T* out = mask + start;
      for (int64_t i = 0; i < m; ++i) {
        const float u = philox_uniform(words[i]);  // (0, 1]
        out[i] = static_cast<T>(u) > p ? keep_scale : T(0);
      }
    }
  });
}

namespace {
HL_SIMD_CLONES void mul_mask_over_time_rows(const float* x, const float* mask, float* y, int64_t b0, int64_t b1,
                                            int64_t time, int64_t features) {
  for (int64_t b = b0; b < b1; ++b) {
    const float* m = mask + b * features;
    for (int64_t t = 0; t < time; ++t) {
      const int64_t row = (b * time + t) * features;
      for (int64_t f = 0; f < features; ++f) y[row + f] = x[row + f] * m[f];
    }
  }
}
}  // namespace

void mul_mask_over_time_f32(const float* x, const float* mask, float* y, int64_t batch, int64_t time,
                            int64_t features) {
  const int64_t per_sequence = time * features;
  parallel_for(batch, kElementwiseGrain / (per_sequence > 0 ? per_sequence : 1) + 1,
               [&](int64_t b0, int64_t b1) { mul_mask_over_time_rows(x, mask, y, b0, b1, time, features); });
}

template void dropout_mask<float>(uint64_t, uint64_t, float, float*, int64_t);
template void dropout_mask<double>(uint64_t, uint64_t, double, double*, int64_t);

}  // namespace hl::cpu
