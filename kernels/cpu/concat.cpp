#include "kernels/cpu/concat.h"

#include <cstring>

namespace hl::cpu {

void copy_slab(const void* src, int64_t src_n, int64_t src_start, void* dst, int64_t dst_n, int64_t dst_start,
               int64_t outer, int64_t len, int64_t inner, size_t element_size) {
  const size_t row = static_cast<size_t>(inner) * element_size;  // bytes of one index along the dimension
  const auto* s = static_cast<const char*>(src);
  auto* d = static_cast<char*>(dst);
  for (int64_t o = 0; o < outer; ++o)
    std::memcpy(d + static_cast<size_t>(o * dst_n + dst_start) * row, s + static_cast<size_t>(o * src_n + src_start) * row,
                static_cast<size_t>(len) * row);
}

void zero_fill(void* dst, size_t nbytes) {
  if (nbytes > 0) std::memset(dst, 0, nbytes);
}

}  // namespace hl::cpu
