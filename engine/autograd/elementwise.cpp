// Forward through the hl::ops API (which dispatches to CPU or CUDA kernels); backward
// through kernels/cpu/act_grad or kernels/cuda/act_grad for the activations.
#include "engine/autograd/elementwise.h"

#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/cpu/act_grad.h"
#include "kernels/cuda/act_grad.h"

namespace hl::ag {

namespace {

Variable activation(const Variable& x, cpu::Activation kind, const char* name) {
  dispatch::require_f32_same_device({&x.value()}, name);
  const Tensor& in = x.value();
  Tensor y = kind == cpu::Activation::Relu      ? ops::relu(in)
             : kind == cpu::Activation::Sigmoid ? ops::sigmoid(in)
                                                : ops::tanh(in);
  // The node keeps only y (every backward reads the output, kernels/cpu/act_grad.h), so
  // the input is freed here when nothing else holds it.
  return record(name, y, {x}, [y, kind](const Tensor& dy, const std::vector<bool>&) -> std::vector<Tensor> {
    Tensor dx = Tensor::empty(y.shape(), DType::F32, y.device());
    HL_DISPATCH(y, activation_backward, kind, y.data<float>(), dy.data<float>(), dx.data<float>(), y.numel());
    return {dx};
  });
}

}  // namespace

Variable add(const Variable& a, const Variable& b) {
  dispatch::require_f32_same_device({&a.value(), &b.value()}, "add");
  return record("add", ops::add(a.value(), b.value()), {a, b},
                [](const Tensor& dy, const std::vector<bool>&) -> std::vector<Tensor> { return {dy, dy}; });
}

Variable mul(const Variable& a, const Variable& b) {
  dispatch::require_f32_same_device({&a.value(), &b.value()}, "mul");
  const Tensor av = a.value(), bv = b.value();
  return record("mul", ops::mul(av, bv), {a, b},
                [av, bv](const Tensor& dy, const std::vector<bool>& needs) -> std::vector<Tensor> {
                  return {needs[0] ? ops::mul(dy, bv) : Tensor(), needs[1] ? ops::mul(dy, av) : Tensor()};
                });
}

Variable scale(const Variable& x, float alpha) {
  dispatch::require_f32_same_device({&x.value()}, "scale");
  return record("scale", ops::scale(x.value(), alpha), {x},
                [alpha](const Tensor& dy, const std::vector<bool>&) -> std::vector<Tensor> {
                  return {ops::scale(dy, alpha)};
                });
}

Variable relu(const Variable& x) { return activation(x, cpu::Activation::Relu, "relu"); }
Variable sigmoid(const Variable& x) { return activation(x, cpu::Activation::Sigmoid, "sigmoid"); }
Variable tanh(const Variable& x) { return activation(x, cpu::Activation::Tanh, "tanh"); }

}  // namespace hl::ag
