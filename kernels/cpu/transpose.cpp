// Batched transpose of the last two dimensions, blocked so both sides stay in cache.
#include "kernels/cpu/transpose.h"

#include <algorithm>
#include <cstring>

namespace hl::cpu {

void transpose(const void* x, void* y, int64_t batch, int64_t rows, int64_t cols, size_t element_size) {
  constexpr int64_t kBlock = 32;
  const auto* src = static_cast<const unsigned char*>(x);
  auto* dst = static_cast<unsigned char*>(y);
  const size_t es = element_size;
  for (int64_t b = 0; b < batch; ++b) {
    const unsigned char* s = src + static_cast<size_t>(b * rows * cols) * es;
    unsigned char* d = dst + static_cast<size_t>(b * rows * cols) * es;
    for (int64_t r0 = 0; r0 < rows; r0 += kBlock) {
      for (int64_t c0 = 0; c0 < cols; c0 += kBlock) {
        const int64_t r1 = std::min(rows, r0 + kBlock), c1 = std::min(cols, c0 + kBlock);
        for (int64_t r = r0; r < r1; ++r)
          for (int64_t c = c0; c < c1; ++c)
            std::memcpy(d + static_cast<size_t>(c * rows + r) * es, s + static_cast<size_t>(r * cols + c) * es, es);
      }
    }
  }
}

}  // namespace hl::cpu
