#include "engine/autograd/loss.h"

#include "kernels/cpu/loss.h"

namespace hl::ag {

namespace {

void check_pair(const Variable& a, const Variable& b, const char* op) {
  require_cpu_f32(a.value(), op);
  require_cpu_f32(b.value(), op);
  check_same_shape(a.value(), b.value(), op);
  if (a.value().numel() == 0) throw Error(std::string(op) + ": empty batch");
}

Tensor scalar(float v) { return Tensor::from_vector(Shape{}, {v}); }

using Forward = float (*)(const float*, const float*, int64_t);
using Backward = void (*)(const float*, const float*, int64_t, float, float*);

Variable prediction_loss(const Variable& pred, const Variable& label, Forward forward, Backward backward,
                         const char* name) {
  check_pair(pred, label, name);
  const Tensor p = pred.value(), y = label.value();
  const float loss = forward(p.data<float>(), y.data<float>(), p.numel());
  return record(name, scalar(loss), {pred, label}, [p, y, backward](const Tensor& dl, const std::vector<bool>& needs) {
    std::vector<Tensor> g(2);
    if (needs[0]) {
      g[0] = Tensor::empty(p.shape(), DType::F32);
      backward(p.data<float>(), y.data<float>(), p.numel(), dl.data<float>()[0], g[0].data<float>());
    }
    return g;  // labels are targets, not learned: no gradient
  });
}

}  // namespace

Variable mse_loss(const Variable& pred, const Variable& label) {
  return prediction_loss(pred, label, cpu::mse_forward<float>, cpu::mse_backward<float>, "mse_loss");
}

Variable ccc_loss(const Variable& pred, const Variable& label) {
  return prediction_loss(pred, label, cpu::ccc_loss_forward<float>, cpu::ccc_loss_backward<float>, "ccc_loss");
}

Variable margin_ranking_loss(const Variable& score_hi, const Variable& score_lo, float margin) {
  check_pair(score_hi, score_lo, "margin_ranking_loss");
  const Tensor hi = score_hi.value(), lo = score_lo.value();
  const float loss = cpu::margin_ranking_forward(hi.data<float>(), lo.data<float>(), hi.numel(), margin);
  return record("margin_ranking_loss", scalar(loss), {score_hi, score_lo},
                [hi, lo, margin](const Tensor& dl, const std::vector<bool>& needs) {
                  std::vector<Tensor> g(2);
                  if (needs[0]) g[0] = Tensor::empty(hi.shape(), DType::F32);
                  if (needs[1]) g[1] = Tensor::empty(lo.shape(), DType::F32);
                  cpu::margin_ranking_backward(hi.data<float>(), lo.data<float>(), hi.numel(), margin,
                                               dl.data<float>()[0], needs[0] ? g[0].data<float>() : nullptr,
                                               needs[1] ? g[1].data<float>() : nullptr);
                  return g;
                });
}

}  // namespace hl::ag
