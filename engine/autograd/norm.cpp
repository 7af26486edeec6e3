#include "engine/autograd/norm.h"

namespace hl::ag {

namespace {

Variable layer_norm_any(cpu::LayerNormKind kind, const Variable& x, const Variable& gain, const Variable& bias,
                        float eps, const char* name) {
  for (const Variable* v : {&x, &gain, &bias}) require_cpu_f32(v->value(), name);
  const int64_t n = x.ndim() >= 1 ? x.size(-1) : 0;
  if (n < 1 || gain.ndim() != 1 || gain.size(0) != n || !(gain.shape() == bias.shape()))
    throw Error(std::string(name) + ": input " + x.value().str() + ", gain " + gain.value().str() + ", bias " +
                bias.value().str());
  if (kind == cpu::LayerNormKind::VasnetStd && n < 2) throw Error(std::string(name) + ": needs n >= 2 (unbiased std)");
  const int64_t rows = x.value().numel() / n;
  const Tensor xv = x.value(), gv = gain.value();
  Tensor y = Tensor::empty(x.shape(), DType::F32);
  cpu::layer_norm_forward(kind, xv.data<float>(), gv.data<float>(), bias.value().data<float>(), y.data<float>(), rows,
                          n, eps);
  return record(name, y, {x, gain, bias}, [kind, xv, gv, rows, n, eps](const Tensor& dy, const std::vector<bool>& needs) {
    std::vector<Tensor> g(3);
    if (needs[0]) g[0] = Tensor::empty(xv.shape(), DType::F32);
    if (needs[1]) g[1] = Tensor::empty(gv.shape(), DType::F32);
    if (needs[2]) g[2] = Tensor::empty(gv.shape(), DType::F32);
    auto ptr = [](Tensor& t) { return t.defined() ? t.data<float>() : nullptr; };
    cpu::layer_norm_backward(kind, xv.data<float>(), gv.data<float>(), dy.data<float>(), ptr(g[0]), ptr(g[1]),
                             ptr(g[2]), rows, n, eps);
    return g;
  });
}

}  // namespace

Variable layer_norm(const Variable& x, const Variable& gain, const Variable& bias, float eps) {
  return layer_norm_any(cpu::LayerNormKind::Standard, x, gain, bias, eps, "layer_norm");
}

Variable layer_norm_vasnet(const Variable& x, const Variable& gain, const Variable& bias, float eps) {
  return layer_norm_any(cpu::LayerNormKind::VasnetStd, x, gain, bias, eps, "layer_norm_vasnet");
}

}  // namespace hl::ag
