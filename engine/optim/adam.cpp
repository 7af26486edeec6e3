#include "engine/optim/adam.h"

#include "engine/dispatch.h"
#include "kernels/cpu/optim.h"
#include "kernels/cuda/optim.h"

namespace hl::optim {

Adam::Adam(std::vector<ag::Variable> params, AdamHyper hyper) : params_(std::move(params)), hyper_(hyper) {
  for (const ag::Variable& p : params_) {
    if (!p.defined() || !p.requires_grad() || !p.is_leaf())
      throw Error("Adam: parameters must be leaf Variables that require a gradient");
    dispatch::require_f32_same_device({&p.value()}, "Adam");
    const Device dev = p.value().device();
    state_.push_back({Tensor::zeros(p.shape(), DType::F32, dev), Tensor::zeros(p.shape(), DType::F32, dev), 0});
  }
}

void Adam::step() {
  for (size_t i = 0; i < params_.size(); ++i) {
    ag::Variable& p = params_[i];
    if (!p.grad().defined()) continue;
    State& s = state_[i];
    dispatch::require_f32_same_device({&p.value(), &p.grad(), &s.m, &s.v}, "Adam");
    ++s.step;
    HL_DISPATCH(p.value(), adam_step_f32, hyper_, s.step, p.value_mut().data<float>(), p.grad().data<float>(),
                s.m.data<float>(), s.v.data<float>(), p.value().numel());
  }
}

void Adam::zero_grad() {
  for (ag::Variable& p : params_) p.zero_grad();
}

}  // namespace hl::optim
