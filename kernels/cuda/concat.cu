// Slab copies (kernels/cuda/concat.h) as one strided 2-D copy: `outer` rows of
// len * inner elements, source pitch src_n * inner, destination pitch dst_n * inner
// (all in bytes). No kernel of our own, so nothing to get wrong in index math.
#include <cstddef>
#include <cstdint>

#include "kernels/cuda/check.h"
#include "kernels/cuda/concat.h"

namespace hl::cuda {

void copy_slab(const void* src, int64_t src_n, int64_t src_start, void* dst, int64_t dst_n, int64_t dst_start,
               int64_t outer, int64_t len, int64_t inner, size_t element_size, cudaStream_t stream) {
  const size_t row = static_cast<size_t>(inner) * element_size;  // bytes of one index along the dimension
  const size_t width = static_cast<size_t>(len) * row;
  if (outer <= 0 || width == 0) return;
  const auto* s = static_cast<const char*>(src) + static_cast<size_t>(src_start) * row;
  auto* d = static_cast<char*>(dst) + static_cast<size_t>(dst_start) * row;
  HL_CUDA_CHECK(cudaMemcpy2DAsync(d, static_cast<size_t>(dst_n) * row, s, static_cast<size_t>(src_n) * row, width,
                                  static_cast<size_t>(outer), cudaMemcpyDeviceToDevice, stream));
}

void zero_fill(void* dst, size_t nbytes, cudaStream_t stream) {
  if (nbytes == 0) return;
  HL_CUDA_CHECK(cudaMemsetAsync(dst, 0, nbytes, stream));
}

}  // namespace hl::cuda
