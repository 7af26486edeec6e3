#include "engine/optim/adam.h"

namespace hl::optim {

Adam::Adam(std::vector<ag::Variable> params, AdamHyper hyper) : params_(std::move(params)), hyper_(hyper) {
  for (const ag::Variable& p : params_) {
    if (!p.defined() || !p.requires_grad() || !p.is_leaf())
      throw Error("Adam: parameters must be leaf Variables that require a gradient");
    ag::require_cpu_f32(p.value(), "Adam");
    state_.push_back({Tensor::zeros(p.shape(), DType::F32), Tensor::zeros(p.shape(), DType::F32), 0});
  }
}

void Adam::step() {
  for (size_t i = 0; i < params_.size(); ++i) {
    ag::Variable& p = params_[i];
    if (!p.grad().defined()) continue;
    State& s = state_[i];
    ++s.step;
    cpu::adam_step_f32(hyper_, s.step, p.value_mut().data<float>(), p.grad().data<float>(), s.m.data<float>(),
                       s.v.data<float>(), p.value().numel());
  }
}

void Adam::zero_grad() {
  for (ag::Variable& p : params_) p.zero_grad();
}

}  // namespace hl::optim
