#include "engine/autograd/softmax.h"

#include "engine/dispatch.h"
#include "engine/autograd/shape_ops.h"
#include "kernels/cpu/softmax.h"
#include "kernels/cuda/softmax.h"

namespace hl::ag {

Variable softmax(const Variable& x, int dim) {
  dispatch::require_f32_same_device({&x.value()}, "softmax");
  const DimSplit s = split_at(x.shape(), dim, "softmax");
  const Tensor xv = x.value();
  Tensor y = Tensor::empty(x.shape(), DType::F32, xv.device());
  if (s.n > 0) {
    HL_DISPATCH(xv, softmax_forward, xv.data<float>(), y.data<float>(), s.outer, s.n, s.inner);
  }
  return record("softmax", y, {x}, [y, s](const Tensor& dy, const std::vector<bool>&) {
    Tensor dx = Tensor::empty(y.shape(), DType::F32, y.device());
    if (s.n > 0) {
      HL_DISPATCH(y, softmax_backward, y.data<float>(), dy.data<float>(), dx.data<float>(), s.outer, s.n, s.inner);
    }
    return std::vector<Tensor>{dx};
  });
}

}  // namespace hl::ag
