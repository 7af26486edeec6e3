// Adam over a list of parameters, as torch.optim.Adam (kernels/cpu/optim.h has the
// update). Defaults are the paper's: lr 1e-3, betas (0.9, 0.999), eps 1e-7 (Keras's
// default, which the paper used). weight_decay is L2 added to the gradient, like
// torch.optim.Adam (not decoupled AdamW); VASNet trains with 1e-5.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/autograd/variable.h"
#include "kernels/cpu/optim.h"

namespace hl::optim {

using AdamHyper = cpu::AdamHyper;

class Adam {
 public:
  explicit Adam(std::vector<ag::Variable> params, AdamHyper hyper = {});

  // Updates every parameter that has a gradient, in place. As in PyTorch, a parameter
  // without one is left alone and its step count does not advance.
  void step();
  // Drops every parameter's gradient.
  void zero_grad();

  const AdamHyper& hyper() const { return hyper_; }
  void set_lr(float lr) { hyper_.lr = lr; }

  // Per parameter (in the constructor's order): the moments and the step count. Exposed
  // so that training checkpoints can save and restore them exactly.
  struct State {
    Tensor m, v;  // first and second moments, the parameter's shape
    int64_t step = 0;
  };
  std::vector<State>& state() { return state_; }
  const std::vector<State>& state() const { return state_; }

 private:
  std::vector<ag::Variable> params_;
  std::vector<State> state_;
  AdamHyper hyper_;
};

}  // namespace hl::optim
