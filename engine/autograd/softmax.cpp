#include "engine/autograd/softmax.h"

#include "engine/autograd/shape_ops.h"
#include "kernels/cpu/softmax.h"

namespace hl::ag {

Variable softmax(const Variable& x, int dim) {
  require_cpu_f32(x.value(), "softmax");
  const DimSplit s = split_at(x.shape(), dim, "softmax");
  Tensor y = Tensor::empty(x.shape(), DType::F32);
  if (s.n > 0) cpu::softmax_forward(x.value().data<float>(), y.data<float>(), s.outer, s.n, s.inner);
  return record("softmax", y, {x}, [y, s](const Tensor& dy, const std::vector<bool>&) {
    Tensor dx = Tensor::empty(y.shape(), DType::F32);
    if (s.n > 0) cpu::softmax_backward(y.data<float>(), dy.data<float>(), dx.data<float>(), s.outer, s.n, s.inner);
    return std::vector<Tensor>{dx};
  });
}

}  // namespace hl::ag
