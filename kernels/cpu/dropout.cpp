#include "kernels/cpu/dropout.h"

#include <algorithm>

#include "kernels/common/philox.h"
#include "kernels/cpu/philox_fill.h"

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

template void dropout_mask<float>(uint64_t, uint64_t, float, float*, int64_t);
template void dropout_mask<double>(uint64_t, uint64_t, double, double*, int64_t);

}  // namespace hl::cpu
