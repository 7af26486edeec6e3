#include "engine/optim/adam.h"

#include "engine/autograd/device_dispatch.h"
#ifdef HL_HAVE_CUDA
#include "kernels/cuda/optim.h"
#endif

namespace hl::optim {

Adam::Adam(std::vector<ag::Variable> params, AdamHyper hyper) : params_(std::move(params)), hyper_(hyper) {
  for (const ag::Variable& p : params_) {
    if (!p.defined() || !p.requires_grad() || !p.is_leaf())
      throw Error("Adam: parameters must be leaf Variables that require a gradient");
    ag::detail::require_f32_same_device({&p.value()}, "Adam");
    const Device dev = p.value().device();
    state_.push_back({Tensor::zeros(p.shape(), DType::F32, dev), Tensor::zeros(p.shape(), DType::F32, dev), 0});
  }
}

void Adam::step() {
  for (size_t i = 0; i < params_.size(); ++i) {
    ag::Variable& p = params_[i];
    if (!p.grad().defined()) continue;
    State& s = state_[i];
    ag::detail::require_f32_same_device({&p.value(), &p.grad(), &s.m, &s.v}, "Adam");
    ++s.step;
    if (ag::detail::on_cpu(p.value())) {
      cpu::adam_step_f32(hyper_, s.step, p.value_mut().data<float>(), p.grad().data<float>(), s.m.data<float>(),
                         s.v.data<float>(), p.value().numel());
    } else {
#ifdef HL_HAVE_CUDA
      cuda::adam_step_f32(hyper_, s.step, p.value_mut().data<float>(), p.grad().data<float>(), s.m.data<float>(),
                          s.v.data<float>(), p.value().numel(), ag::detail::stream_of(p.value()));
#else
      ag::detail::no_cuda_kernels("Adam");
#endif
    }
  }
}

void Adam::zero_grad() {
  for (ag::Variable& p : params_) p.zero_grad();
}

}  // namespace hl::optim
