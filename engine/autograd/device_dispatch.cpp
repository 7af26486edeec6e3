#include "engine/autograd/device_dispatch.h"

#include "kernels/cpu/concat.h"
#ifdef HL_HAVE_CUDA
#include "kernels/cuda/concat.h"
#endif

namespace hl::ag::detail {

void copy_slab_f32(const Tensor& src, int64_t src_n, int64_t src_start, Tensor& dst, int64_t dst_n, int64_t dst_start,
                   int64_t outer, int64_t len, int64_t inner) {
  if (on_cpu(dst)) {
    cpu::copy_slab(src.raw(), src_n, src_start, dst.raw(), dst_n, dst_start, outer, len, inner, 4);
  } else {
#ifdef HL_HAVE_CUDA
    cuda::copy_slab(src.raw(), src_n, src_start, dst.raw(), dst_n, dst_start, outer, len, inner, 4, stream_of(dst));
#else
    no_cuda_kernels("copy_slab");
#endif
  }
}

}  // namespace hl::ag::detail
