#include "kernels/cpu/dropout.h"

#include "kernels/common/philox.h"

namespace hl::cpu {

template <typename T>
void dropout_mask(uint64_t seed, uint64_t offset, T p, T* mask, int64_t n) {
  const T keep_scale = T(1) / (T(1) - p);
  for (int64_t i = 0; i < n; ++i) {
    const float u = philox_uniform(philox_word(seed, offset + static_cast<uint64_t>(i)));  // (0, 1]
    mask[i] = static_cast<T>(u) > p ? keep_scale : T(0);
  }
}

template void dropout_mask<float>(uint64_t, uint64_t, float, float*, int64_t);
template void dropout_mask<double>(uint64_t, uint64_t, double, double*, int64_t);

}  // namespace hl::cpu
