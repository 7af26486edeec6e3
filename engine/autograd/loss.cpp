#include "engine/autograd/loss.h"

#include "engine/dispatch.h"
#include "kernels/cpu/loss.h"
#include "kernels/cuda/loss.h"

namespace hl::ag {

namespace {

void check_pair(const Variable& a, const Variable& b, const char* op) {
  dispatch::require_f32_same_device({&a.value(), &b.value()}, op);
  check_same_shape(a.value(), b.value(), op);
  if (a.value().numel() == 0) throw Error(std::string(op) + ": empty batch");
}

// The scalar loss lives where the predictions are, so a GPU step never waits for the
// host; the kernels write it (and read the incoming gradient) through pointers.
Tensor scalar_on(Device device) { return Tensor::empty(Shape{}, DType::F32, device); }

// A loss of predictions p against labels y (same shape; the labels are targets, not
// learned: no gradient). forward(p, y, loss) and backward(p, y, dloss, dp) dispatch to
// the loss's kernels.
template <class Forward, class Backward>
Variable prediction_loss(const Variable& pred, const Variable& label, const char* name, Forward forward,
                         Backward backward) {
  check_pair(pred, label, name);
  const Tensor p = pred.value(), y = label.value();
  Tensor loss = scalar_on(p.device());
  forward(p, y, loss);
  return record(name, loss, {pred, label}, [p, y, backward](const Tensor& dl, const std::vector<bool>& needs) {
    std::vector<Tensor> g(2);
    if (needs[0]) {
      g[0] = Tensor::empty(p.shape(), DType::F32, p.device());
      backward(p, y, dl, g[0]);
    }
    return g;
  });
}

}  // namespace

Variable mse_loss(const Variable& pred, const Variable& label) {
  return prediction_loss(
      pred, label, "mse_loss",
      [](const Tensor& p, const Tensor& y, Tensor& loss) {
        HL_DISPATCH(p, mse_forward, p.data<float>(), y.data<float>(), p.numel(), loss.data<float>());
      },
      [](const Tensor& p, const Tensor& y, const Tensor& dl, Tensor& dp) {
        HL_DISPATCH(p, mse_backward, p.data<float>(), y.data<float>(), p.numel(), dl.data<float>(), dp.data<float>());
      });
}

Variable ccc_loss(const Variable& pred, const Variable& label) {
  return prediction_loss(
      pred, label, "ccc_loss",
      [](const Tensor& p, const Tensor& y, Tensor& loss) {
        HL_DISPATCH(p, ccc_loss_forward, p.data<float>(), y.data<float>(), p.numel(), loss.data<float>());
      },
      [](const Tensor& p, const Tensor& y, const Tensor& dl, Tensor& dp) {
        HL_DISPATCH(p, ccc_loss_backward, p.data<float>(), y.data<float>(), p.numel(), dl.data<float>(),
                    dp.data<float>());
      });
}

Variable margin_ranking_loss(const Variable& score_hi, const Variable& score_lo, float margin) {
  check_pair(score_hi, score_lo, "margin_ranking_loss");
  const Tensor hi = score_hi.value(), lo = score_lo.value();
  Tensor loss = scalar_on(hi.device());
  HL_DISPATCH(hi, margin_ranking_forward, hi.data<float>(), lo.data<float>(), hi.numel(), margin, loss.data<float>());
  return record("margin_ranking_loss", loss, {score_hi, score_lo},
                [hi, lo, margin](const Tensor& dl, const std::vector<bool>& needs) {
                  std::vector<Tensor> g(2);
                  if (needs[0]) g[0] = Tensor::empty(hi.shape(), DType::F32, hi.device());
                  if (needs[1]) g[1] = Tensor::empty(lo.shape(), DType::F32, hi.device());
                  float* dhi = needs[0] ? g[0].data<float>() : nullptr;
                  float* dlo = needs[1] ? g[1].data<float>() : nullptr;
                  HL_DISPATCH(hi, margin_ranking_backward, hi.data<float>(), lo.data<float>(), hi.numel(), margin,
                              dl.data<float>(), dhi, dlo);
                  return g;
                });
}

}  // namespace hl::ag
