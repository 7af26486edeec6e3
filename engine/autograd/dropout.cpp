#include "engine/autograd/dropout.h"

#include <string>

#include "engine/dispatch.h"
#include "engine/autograd/elementwise.h"
#include "kernels/cpu/dropout.h"
#include "kernels/cuda/dropout.h"

namespace hl::ag {

namespace {

void check_probability(float p) {
  if (!(p >= 0.0f && p < 1.0f)) throw Error("dropout: probability " + std::to_string(p) + " outside [0, 1)");
}

// The mask made where it is used: on a GPU the CUDA kernel draws the same Philox words
// and gives the same mask bit for bit (kernels/cuda/dropout.h).
Tensor mask_on(const Shape& shape, float p, DropoutRng rng, Device device) {
  check_probability(p);
  Tensor mask = Tensor::empty(shape, DType::F32, device);
  HL_DISPATCH(mask, dropout_mask, rng.seed, rng.offset, p, mask.data<float>(), mask.numel());
  return mask;
}

}  // namespace

Tensor dropout_mask(const Shape& shape, float p, DropoutRng rng) {
  return mask_on(shape, p, rng, Device::cpu());
}

Variable dropout(const Variable& x, float p, bool training, DropoutRng rng) {
  dispatch::require_f32_same_device({&x.value()}, "dropout");
  check_probability(p);  // validated even when not training
  if (!training || p == 0.0f) return x;
  return mul(x, Variable(mask_on(x.shape(), p, rng, x.value().device())));
}

}  // namespace hl::ag
