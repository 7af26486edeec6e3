#include "engine/autograd/softmax.h"

#include "engine/autograd/device_dispatch.h"
#include "engine/autograd/shape_ops.h"
#include "kernels/cpu/softmax.h"
#ifdef HL_HAVE_CUDA
#include "kernels/cuda/softmax.h"
#endif

namespace hl::ag {

Variable softmax(const Variable& x, int dim) {
  detail::require_f32_same_device({&x.value()}, "softmax");
  const DimSplit s = split_at(x.shape(), dim, "softmax");
  const Tensor xv = x.value();
  Tensor y = Tensor::empty(x.shape(), DType::F32, xv.device());
  if (s.n > 0) {
    if (detail::on_cpu(xv)) {
      cpu::softmax_forward(xv.data<float>(), y.data<float>(), s.outer, s.n, s.inner);
    } else {
#ifdef HL_HAVE_CUDA
      cuda::softmax_forward_f32(xv.data<float>(), y.data<float>(), s.outer, s.n, s.inner, detail::stream_of(xv));
#else
      detail::no_cuda_kernels("softmax");
#endif
    }
  }
  return record("softmax", y, {x}, [y, s](const Tensor& dy, const std::vector<bool>&) {
    Tensor dx = Tensor::empty(y.shape(), DType::F32, y.device());
    if (s.n > 0) {
      if (detail::on_cpu(y)) {
        cpu::softmax_backward(y.data<float>(), dy.data<float>(), dx.data<float>(), s.outer, s.n, s.inner);
      } else {
#ifdef HL_HAVE_CUDA
        cuda::softmax_backward_f32(y.data<float>(), dy.data<float>(), dx.data<float>(), s.outer, s.n, s.inner,
                                   detail::stream_of(y));
#else
        detail::no_cuda_kernels("softmax");
#endif
      }
    }
    return std::vector<Tensor>{dx};
  });
}

}  // namespace hl::ag
