#include "engine/autograd/loss.h"

#include "engine/autograd/device_dispatch.h"
#include "kernels/cpu/loss.h"
#ifdef HL_HAVE_CUDA
#include "kernels/cuda/loss.h"
#endif

namespace hl::ag {

namespace {

void check_pair(const Variable& a, const Variable& b, const char* op) {
  detail::require_f32_same_device({&a.value(), &b.value()}, op);
  check_same_shape(a.value(), b.value(), op);
  if (a.value().numel() == 0) throw Error(std::string(op) + ": empty batch");
}

Tensor scalar(float v) { return Tensor::from_vector(Shape{}, {v}); }

using Forward = float (*)(const float*, const float*, int64_t);
using Backward = void (*)(const float*, const float*, int64_t, float, float*);

// The CUDA twins keep the loss and its incoming gradient on the device (kernels/cuda/loss.h).
#ifdef HL_HAVE_CUDA
using CudaForward = void (*)(const float*, const float*, int64_t, float*, cudaStream_t);
using CudaBackward = void (*)(const float*, const float*, int64_t, const float*, float*, cudaStream_t);
#else
using CudaForward = void*;
using CudaBackward = void*;
#endif

Variable prediction_loss(const Variable& pred, const Variable& label, Forward forward, Backward backward,
                         CudaForward cuda_forward, CudaBackward cuda_backward, const char* name) {
  check_pair(pred, label, name);
  const Tensor p = pred.value(), y = label.value();
  Tensor loss;
  if (detail::on_cpu(p)) {
    loss = scalar(forward(p.data<float>(), y.data<float>(), p.numel()));
  } else {
#ifdef HL_HAVE_CUDA
    loss = Tensor::empty(Shape{}, DType::F32, p.device());
    cuda_forward(p.data<float>(), y.data<float>(), p.numel(), loss.data<float>(), detail::stream_of(p));
#else
    (void)cuda_forward;
    detail::no_cuda_kernels(name);
#endif
  }
  return record(name, loss, {pred, label},
                [p, y, backward, cuda_backward, name](const Tensor& dl, const std::vector<bool>& needs) {
                  std::vector<Tensor> g(2);
                  if (needs[0]) {
                    g[0] = Tensor::empty(p.shape(), DType::F32, p.device());
                    if (detail::on_cpu(p)) {
                      backward(p.data<float>(), y.data<float>(), p.numel(), dl.data<float>()[0], g[0].data<float>());
                    } else {
#ifdef HL_HAVE_CUDA
                      cuda_backward(p.data<float>(), y.data<float>(), p.numel(), dl.data<float>(), g[0].data<float>(),
                                    detail::stream_of(p));
#else
                      (void)cuda_backward;
                      detail::no_cuda_kernels(name);
#endif
                    }
                  }
                  return g;  // labels are targets, not learned: no gradient
                });
}

}  // namespace

#ifdef HL_HAVE_CUDA
#define HL_CUDA_LOSS(fn) ::hl::cuda::fn
#else
#define HL_CUDA_LOSS(fn) nullptr
#endif

Variable mse_loss(const Variable& pred, const Variable& label) {
  return prediction_loss(pred, label, cpu::mse_forward<float>, cpu::mse_backward<float>, HL_CUDA_LOSS(mse_forward_f32),
                         HL_CUDA_LOSS(mse_backward_f32), "mse_loss");
}

Variable ccc_loss(const Variable& pred, const Variable& label) {
  return prediction_loss(pred, label, cpu::ccc_loss_forward<float>, cpu::ccc_loss_backward<float>,
                         HL_CUDA_LOSS(ccc_loss_forward_f32), HL_CUDA_LOSS(ccc_loss_backward_f32), "ccc_loss");
}

#undef HL_CUDA_LOSS

Variable margin_ranking_loss(const Variable& score_hi, const Variable& score_lo, float margin) {
  check_pair(score_hi, score_lo, "margin_ranking_loss");
  const Tensor hi = score_hi.value(), lo = score_lo.value();
  Tensor loss;
  if (detail::on_cpu(hi)) {
    loss = scalar(cpu::margin_ranking_forward(hi.data<float>(), lo.data<float>(), hi.numel(), margin));
  } else {
#ifdef HL_HAVE_CUDA
    loss = Tensor::empty(Shape{}, DType::F32, hi.device());
    cuda::margin_ranking_forward_f32(hi.data<float>(), lo.data<float>(), hi.numel(), margin, loss.data<float>(),
                                     detail::stream_of(hi));
#else
    detail::no_cuda_kernels("margin_ranking_loss");
#endif
  }
  return record("margin_ranking_loss", loss, {score_hi, score_lo},
                [hi, lo, margin](const Tensor& dl, const std::vector<bool>& needs) {
                  std::vector<Tensor> g(2);
                  if (needs[0]) g[0] = Tensor::empty(hi.shape(), DType::F32, hi.device());
                  if (needs[1]) g[1] = Tensor::empty(lo.shape(), DType::F32, hi.device());
                  float* dhi = needs[0] ? g[0].data<float>() : nullptr;
                  float* dlo = needs[1] ? g[1].data<float>() : nullptr;
                  if (detail::on_cpu(hi)) {
                    cpu::margin_ranking_backward(hi.data<float>(), lo.data<float>(), hi.numel(), margin,
                                                 dl.data<float>()[0], dhi, dlo);
                  } else {
#ifdef HL_HAVE_CUDA
                    cuda::margin_ranking_backward_f32(hi.data<float>(), lo.data<float>(), hi.numel(), margin,
                                                      dl.data<float>(), dhi, dlo, detail::stream_of(hi));
#else
                    detail::no_cuda_kernels("margin_ranking_loss");
#endif
                  }
                  return g;
                });
}

}  // namespace hl::ag
