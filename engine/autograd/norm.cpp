#include "engine/autograd/norm.h"

#include "engine/dispatch.h"
#include "kernels/cpu/norm.h"
#include "kernels/cuda/norm.h"

namespace hl::ag {

namespace {

Variable layer_norm_any(cpu::LayerNormKind kind, const Variable& x, const Variable& gain, const Variable& bias,
                        float eps, const char* name) {
  dispatch::require_f32_same_device({&x.value(), &gain.value(), &bias.value()}, name);
  const int64_t n = x.ndim() >= 1 ? x.size(-1) : 0;
  if (n < 1 || gain.ndim() != 1 || gain.size(0) != n || !(gain.shape() == bias.shape()))
    throw Error(std::string(name) + ": input " + x.value().str() + ", gain " + gain.value().str() + ", bias " +
                bias.value().str());
  if (kind == cpu::LayerNormKind::VasnetStd && n < 2) throw Error(std::string(name) + ": needs n >= 2 (unbiased std)");
  const int64_t rows = x.value().numel() / n;
  const Tensor xv = x.value(), gv = gain.value();
  Tensor y = Tensor::empty(x.shape(), DType::F32, xv.device());
  HL_DISPATCH(xv, layer_norm_forward, kind, xv.data<float>(), gv.data<float>(), bias.value().data<float>(),
              y.data<float>(), rows, n, eps);
  auto backward = [kind, xv, gv, rows, n, eps](const Tensor& dy, const std::vector<bool>& needs) {
    std::vector<Tensor> g(3);
    const Device dev = xv.device();
    if (needs[0]) g[0] = Tensor::empty(xv.shape(), DType::F32, dev);
    if (needs[1]) g[1] = Tensor::empty(gv.shape(), DType::F32, dev);
    if (needs[2]) g[2] = Tensor::empty(gv.shape(), DType::F32, dev);
    auto ptr = [](Tensor& t) { return t.defined() ? t.data<float>() : nullptr; };
    dispatch::on_device(
        xv, "layer norm",
        [&] {
          cpu::layer_norm_backward(kind, xv.data<float>(), gv.data<float>(), dy.data<float>(), ptr(g[0]), ptr(g[1]),
                                   ptr(g[2]), rows, n, eps);
        },
        [&](cudaStream_t stream) {
          // Per-row statistics (doubles) as a byte buffer from the arena.
          const auto workspace_bytes = static_cast<int64_t>(cuda::layer_norm_backward_workspace(rows));
          Tensor workspace = Tensor::empty(Shape{workspace_bytes}, DType::U8, dev);
          cuda::layer_norm_backward(kind, xv.data<float>(), gv.data<float>(), dy.data<float>(), ptr(g[0]), ptr(g[1]),
                                    ptr(g[2]), rows, n, eps, workspace.raw(), stream);
        });
    return g;
  };
  return record(name, y, {x, gain, bias}, backward);
}

}  // namespace

Variable layer_norm(const Variable& x, const Variable& gain, const Variable& bias, float eps) {
  return layer_norm_any(cpu::LayerNormKind::Standard, x, gain, bias, eps, "layer_norm");
}

Variable layer_norm_vasnet(const Variable& x, const Variable& gain, const Variable& bias, float eps) {
  return layer_norm_any(cpu::LayerNormKind::VasnetStd, x, gain, bias, eps, "layer_norm_vasnet");
}

}  // namespace hl::ag
