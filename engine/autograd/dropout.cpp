#include "engine/autograd/dropout.h"

#include <string>

#include "engine/autograd/elementwise.h"
#include "kernels/cpu/dropout.h"

namespace hl::ag {

Tensor dropout_mask(const Shape& shape, float p, DropoutRng rng) {
  if (!(p >= 0.0f && p < 1.0f)) throw Error("dropout: probability " + std::to_string(p) + " outside [0, 1)");
  Tensor mask = Tensor::empty(shape, DType::F32);
  cpu::dropout_mask(rng.seed, rng.offset, p, mask.data<float>(), mask.numel());
  return mask;
}

Variable dropout(const Variable& x, float p, bool training, DropoutRng rng) {
  require_cpu_f32(x.value(), "dropout");
  const Tensor mask = dropout_mask(x.shape(), p, rng);  // validates p even when not training
  if (!training || p == 0.0f) return x;
  return mul(x, Variable(mask));
}

}  // namespace hl::ag
