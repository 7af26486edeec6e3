#include "engine/autograd/lstm.h"

#include "engine/dispatch.h"
#include "engine/autograd/elementwise.h"
#include "engine/autograd/shape_ops.h"
#include "kernels/cpu/concat.h"
#include "kernels/cpu/dropout.h"
#include "kernels/cpu/lstm.h"
#include "kernels/cuda/concat.h"
#include "kernels/cuda/dropout.h"
#include "kernels/cuda/lstm.h"

namespace hl::ag {

namespace {

// mask [batch, features] repeated over time: [batch, time, features], on the mask's device.
Tensor repeat_over_time(const Tensor& mask, int64_t time) {
  const int64_t batch = mask.size(0), features = mask.size(1);
  Tensor out = Tensor::empty(Shape{batch, time, features}, DType::F32, mask.device());
  for (int64_t t = 0; t < time; ++t)
    HL_DISPATCH(out, copy_slab, mask.raw(), 1, 0, out.raw(), time, t, batch, 1, features, sizeof(float));
  return out;
}

// Validates x and one direction's parameters (all f32 on one device) and returns the shape.
cpu::LstmShape lstm_shape(const Variable& x, const LstmParams& p, bool reverse) {
  dispatch::require_f32_same_device({&x.value(), &p.kernel.value(), &p.recurrent.value(), &p.bias.value()}, "lstm");
  cpu::LstmShape s;
  if (x.ndim() != 3 || p.kernel.ndim() != 2 || p.recurrent.ndim() != 2 || p.bias.ndim() != 1)
    throw Error("lstm: expects x [batch, time, input], kernel [input, 4h], recurrent [h, 4h], bias [4h]; got " +
                x.value().str() + ", " + p.kernel.value().str() + ", " + p.recurrent.value().str() + ", " +
                p.bias.value().str());
  s.batch = x.size(0), s.time = x.size(1), s.input = x.size(2), s.hidden = p.recurrent.size(0), s.reverse = reverse;
  const int64_t G = 4 * s.hidden;
  if (p.kernel.size(0) != s.input || p.kernel.size(1) != G || p.recurrent.size(1) != G || p.bias.size(0) != G)
    throw Error("lstm: parameter shapes do not agree: kernel " + p.kernel.value().str() + ", recurrent " +
                p.recurrent.value().str() + ", bias " + p.bias.value().str() + " for input " + x.value().str());
  return s;
}

// x * the input mask repeated over time (x itself without a mask); checks the masks.
Variable masked_input(const Variable& x, const cpu::LstmShape& s, const LstmMasks& masks) {
  if (masks.recurrent.defined()) {
    dispatch::require_f32_same_device({&x.value(), &masks.recurrent}, "lstm");
    if (!(masks.recurrent.shape() == Shape{s.batch, s.hidden}))
      throw Error("lstm: recurrent mask " + masks.recurrent.str());
  }
  if (!masks.input.defined()) return x;
  dispatch::require_f32_same_device({&x.value(), &masks.input}, "lstm");
  if (!(masks.input.shape() == Shape{s.batch, s.input})) throw Error("lstm: input mask " + masks.input.str());
  if (!x.value().device().is_cpu()) return mul(x, Variable(repeat_over_time(masks.input, s.time)));
  // On the CPU one pass with the [batch, input] mask, instead of first writing it out
  // over time ([batch, time, input], 69 MB per direction at the paper's batch).
  const Tensor mask = masks.input, xv = x.value();
  Tensor y = Tensor::empty(xv.shape(), DType::F32);
  cpu::mul_mask_over_time_f32(xv.data<float>(), mask.data<float>(), y.data<float>(), s.batch, s.time, s.input);
  return record("lstm input dropout", y, {x}, [mask, s](const Tensor& dy, const std::vector<bool>&) {
    Tensor dx = Tensor::empty(dy.shape(), DType::F32);
    cpu::mul_mask_over_time_f32(dy.data<float>(), mask.data<float>(), dx.data<float>(), s.batch, s.time, s.input);
    return std::vector<Tensor>{dx};
  });
}

LstmResult lstm_cpu(const cpu::LstmShape& s, const Variable& xin, const LstmParams& p, const Tensor& r) {
  const int64_t G = 4 * s.hidden;
  Tensor hs = Tensor::empty(Shape{s.batch, s.time, s.hidden}, DType::F32);
  Tensor cs = Tensor::empty(Shape{s.batch, s.time, s.hidden}, DType::F32);
  Tensor gates = Tensor::empty(Shape{s.batch, s.time, G}, DType::F32);
  const Tensor xv = xin.value(), wv = p.kernel.value(), uv = p.recurrent.value();
  cpu::lstm_forward(s, xv.data<float>(), wv.data<float>(), uv.data<float>(), p.bias.value().data<float>(),
                    r.defined() ? r.data<float>() : nullptr, hs.data<float>(), cs.data<float>(), gates.data<float>());
  LstmResult out;
  out.c_last = Tensor::empty(Shape{s.batch, s.hidden}, DType::F32);
  if (s.time > 0)
    cpu::copy_slab(cs.raw(), s.time, s.reverse ? 0 : s.time - 1, out.c_last.raw(), 1, 0, s.batch, 1, s.hidden, 4);
  out.hs = record("lstm", hs, {xin, p.kernel, p.recurrent, p.bias},
                  [s, xv, wv, uv, r, hs, cs, gates](const Tensor& dhs, const std::vector<bool>& needs) {
                    std::vector<Tensor> g(4);
                    const Tensor* like[4] = {&xv, &wv, &uv, nullptr};
                    for (int i = 0; i < 3; ++i)
                      if (needs[i]) g[i] = Tensor::empty(like[i]->shape(), DType::F32);
                    if (needs[3]) g[3] = Tensor::empty(Shape{4 * s.hidden}, DType::F32);
                    auto ptr = [](Tensor& t) { return t.defined() ? t.data<float>() : nullptr; };
                    cpu::lstm_backward(s, xv.data<float>(), wv.data<float>(), uv.data<float>(),
                                       r.defined() ? r.data<float>() : nullptr, hs.data<float>(), cs.data<float>(),
                                       gates.data<float>(), dhs.data<float>(), ptr(g[0]), ptr(g[1]), ptr(g[2]),
                                       ptr(g[3]));
                    return g;
                  });
  return out;
}

// The CUDA path: both directions in one launch, so it has its own structure rather
// than the CPU's per-direction one; reached only through dispatch::on_device below.
// What one direction of the CUDA LSTM saves for its backward pass.
struct CudaLstmSaved {
  Tensor x, w, u, r, cs, gates, prev;
  bool reverse = false;
};

CudaLstmSaved cuda_saved(const cpu::LstmShape& s, const Variable& xin, const LstmParams& p, const Tensor& r,
                         bool reverse) {
  const Device dev = xin.value().device();
  CudaLstmSaved sv;
  sv.x = xin.value(), sv.w = p.kernel.value(), sv.u = p.recurrent.value(), sv.r = r, sv.reverse = reverse;
  sv.cs = Tensor::empty(Shape{s.batch, s.time, s.hidden}, DType::F32, dev);
  sv.gates = Tensor::empty(Shape{s.batch, s.time, 4 * s.hidden}, DType::F32, dev);
  sv.prev = Tensor::empty(Shape{s.batch, s.time, s.hidden}, DType::F32, dev);
  return sv;
}

cuda::LstmForwardArgs forward_args(CudaLstmSaved& sv, const LstmParams& p, float* hs) {
  cuda::LstmForwardArgs a;
  a.x = sv.x.data<float>(), a.w = sv.w.data<float>(), a.u = sv.u.data<float>(), a.b = p.bias.value().data<float>();
  a.r = sv.r.defined() ? sv.r.data<float>() : nullptr;
  a.hs = hs, a.cs = sv.cs.data<float>(), a.gates = sv.gates.data<float>(), a.prev = sv.prev.data<float>();
  a.reverse = sv.reverse;
  return a;
}

// Gradients of one direction's (x, kernel, recurrent, bias) as needed, and the kernel's
// arguments pointing at them; dz is the scratch tensor the caller keeps alive.
cuda::LstmBackwardArgs backward_args(const cpu::LstmShape& s, const CudaLstmSaved& sv, const float* dhs,
                                     const std::vector<bool>& needs, size_t first, std::vector<Tensor>& g, Tensor& dz) {
  const Device dev = sv.x.device();
  const Tensor* like[3] = {&sv.x, &sv.w, &sv.u};
  for (size_t i = 0; i < 3; ++i)
    if (needs[first + i]) g[first + i] = Tensor::empty(like[i]->shape(), DType::F32, dev);
  if (needs[first + 3]) g[first + 3] = Tensor::empty(Shape{4 * s.hidden}, DType::F32, dev);
  dz = Tensor::empty(Shape{s.batch, s.time, 4 * s.hidden}, DType::F32, dev);
  auto ptr = [](Tensor& t) { return t.defined() ? t.data<float>() : nullptr; };
  cuda::LstmBackwardArgs a;
  a.x = sv.x.data<float>(), a.w = sv.w.data<float>(), a.u = sv.u.data<float>();
  a.r = sv.r.defined() ? sv.r.data<float>() : nullptr;
  a.cs = sv.cs.data<float>(), a.gates = sv.gates.data<float>(), a.prev = sv.prev.data<float>();
  a.dhs = dhs, a.dz = dz.data<float>();
  a.dx = ptr(g[first]), a.dw = ptr(g[first + 1]), a.du = ptr(g[first + 2]), a.db = ptr(g[first + 3]);
  a.reverse = sv.reverse;
  return a;
}

LstmResult lstm_cuda(const cpu::LstmShape& s, const Variable& xin, const LstmParams& p, const Tensor& r,
                     cudaStream_t stream) {
  const Device dev = xin.value().device();
  Tensor hs = Tensor::empty(Shape{s.batch, s.time, s.hidden}, DType::F32, dev);
  CudaLstmSaved sv = cuda_saved(s, xin, p, r, s.reverse);
  const cuda::LstmForwardArgs fa = forward_args(sv, p, hs.data<float>());
  cuda::lstm_forward(s, &fa, 1, s.hidden, stream);
  LstmResult out;
  out.c_last = Tensor::empty(Shape{s.batch, s.hidden}, DType::F32, dev);
  if (s.time > 0)
    cuda::copy_slab(sv.cs.raw(), s.time, s.reverse ? 0 : s.time - 1, out.c_last.raw(), 1, 0, s.batch, 1, s.hidden, 4,
                    stream);
  out.hs = record("lstm", hs, {xin, p.kernel, p.recurrent, p.bias},
                  [s, sv](const Tensor& dhs, const std::vector<bool>& needs) {
                    std::vector<Tensor> g(4);
                    Tensor dz;
                    const cuda::LstmBackwardArgs ba = backward_args(s, sv, dhs.data<float>(), needs, 0, g, dz);
                    cuda::lstm_backward(s, &ba, 1, s.hidden, dispatch::stream_of(dhs));
                    return g;
                  });
  return out;
}

// A dropout mask made on `device` (kernels/cuda/dropout.h: the CPU's mask bit for bit).
Tensor cuda_mask(const Shape& shape, float p, uint64_t seed, uint64_t offset, Device device, cudaStream_t stream) {
  if (!(p >= 0.0f && p < 1.0f)) throw Error("dropout: probability " + std::to_string(p) + " outside [0, 1)");
  Tensor mask = Tensor::empty(shape, DType::F32, device);
  cuda::dropout_mask(seed, offset, p, mask.data<float>(), mask.numel(), stream);
  return mask;
}

// lstm_masks on the GPU: the same stream words, the same masks.
LstmMasks cuda_masks(int64_t batch, int64_t input, int64_t hidden, const BiLstmOptions& o, uint64_t offset,
                     Device device, cudaStream_t stream) {
  LstmMasks m;
  if (!o.training) return m;
  if (o.input_dropout > 0)
    m.input = cuda_mask(Shape{batch, input}, o.input_dropout, o.rng.seed, offset, device, stream);
  if (o.recurrent_dropout > 0)
    m.recurrent = cuda_mask(Shape{batch, hidden}, o.recurrent_dropout, o.rng.seed,
                            offset + static_cast<uint64_t>(batch * input), device, stream);
  return m;
}

// Both directions in one recurrence launch (forward and backward), writing one
// [batch, time, 2h] output (forward direction in columns [0, h), backward in [h, 2h)),
// recorded as one node.
Variable bilstm_cuda(const Variable& x, const LstmParams& forward, const LstmParams& backward, const BiLstmOptions& o,
                     cudaStream_t stream) {
  const cpu::LstmShape s = lstm_shape(x, forward, false);
  const cpu::LstmShape sb = lstm_shape(x, backward, true);
  if (sb.hidden != s.hidden)
    throw Error("bilstm: the two directions have different hidden sizes: " + forward.recurrent.value().str() + " and " +
                backward.recurrent.value().str());
  const Device dev = x.value().device();
  const int64_t B = s.batch, T = s.time, H = s.hidden;
  const uint64_t per_direction = static_cast<uint64_t>(B * (s.input + H));
  const LstmMasks mf = cuda_masks(B, s.input, H, o, o.rng.offset, dev, stream);
  const LstmMasks mb = cuda_masks(B, s.input, H, o, o.rng.offset + per_direction, dev, stream);
  const Variable xf = masked_input(x, s, mf), xb = masked_input(x, s, mb);
  Tensor hs = Tensor::empty(Shape{B, T, 2 * H}, DType::F32, dev);
  CudaLstmSaved svf = cuda_saved(s, xf, forward, mf.recurrent, false);
  CudaLstmSaved svb = cuda_saved(s, xb, backward, mb.recurrent, true);
  const cuda::LstmForwardArgs fa[2] = {forward_args(svf, forward, hs.data<float>()),
                                       forward_args(svb, backward, hs.data<float>() + H)};
  cuda::lstm_forward(s, fa, 2, 2 * H, stream);
  const Variable all = record(
      "bilstm", hs,
      {xf, forward.kernel, forward.recurrent, forward.bias, xb, backward.kernel, backward.recurrent, backward.bias},
      [s, svf, svb](const Tensor& dhs, const std::vector<bool>& needs) {
        std::vector<Tensor> g(8);
        Tensor dzf, dzb;
        const cuda::LstmBackwardArgs ba[2] = {backward_args(s, svf, dhs.data<float>(), needs, 0, g, dzf),
                                              backward_args(s, svb, dhs.data<float>() + s.hidden, needs, 4, g, dzb)};
        cuda::lstm_backward(s, ba, 2, 2 * s.hidden, dispatch::stream_of(dhs));
        return g;
      });
  if (o.full_sequence) return all;
  const Variable last_f = reshape(narrow(narrow(all, 1, T - 1, 1), 2, 0, H), {B, H});
  const Variable first_b = reshape(narrow(narrow(all, 1, 0, 1), 2, H, H), {B, H});
  return concat({last_f, first_b}, 1);
}

}  // namespace

LstmResult lstm(const Variable& x, const LstmParams& p, bool reverse, const LstmMasks& masks) {
  const cpu::LstmShape s = lstm_shape(x, p, reverse);
  const Variable xin = masked_input(x, s, masks);
  LstmResult out;
  dispatch::on_device(
      x.value(), "lstm", [&] { out = lstm_cpu(s, xin, p, masks.recurrent); },
      [&](cudaStream_t stream) { out = lstm_cuda(s, xin, p, masks.recurrent, stream); });
  return out;
}

LstmMasks lstm_masks(int64_t batch, int64_t input, int64_t hidden, const BiLstmOptions& o, uint64_t offset) {
  LstmMasks m;
  if (!o.training) return m;
  if (o.input_dropout > 0) m.input = dropout_mask(Shape{batch, input}, o.input_dropout, {o.rng.seed, offset});
  if (o.recurrent_dropout > 0)
    m.recurrent = dropout_mask(Shape{batch, hidden}, o.recurrent_dropout,
                               {o.rng.seed, offset + static_cast<uint64_t>(batch * input)});
  return m;
}

namespace {

// Each direction on its own (lstm() above), joined.
Variable bilstm_cpu(const Variable& x, const LstmParams& forward, const LstmParams& backward, const BiLstmOptions& o) {
  const int64_t batch = x.size(0), time = x.size(1), input = x.size(2), hidden = forward.recurrent.size(0);
  const uint64_t per_direction = static_cast<uint64_t>(batch * (input + hidden));
  const LstmResult f = lstm(x, forward, false, lstm_masks(batch, input, hidden, o, o.rng.offset));
  const LstmResult b = lstm(x, backward, true, lstm_masks(batch, input, hidden, o, o.rng.offset + per_direction));
  if (o.full_sequence) return concat({f.hs, b.hs}, 2);
  const Variable last_f = reshape(narrow(f.hs, 1, time - 1, 1), {batch, hidden});
  const Variable first_b = reshape(narrow(b.hs, 1, 0, 1), {batch, hidden});
  return concat({last_f, first_b}, 1);
}

}  // namespace

Variable bilstm(const Variable& x, const LstmParams& forward, const LstmParams& backward, const BiLstmOptions& o) {
  if (x.ndim() != 3) throw Error("bilstm: expects x [batch, time, input], got " + x.value().str());
  if (x.size(1) < 1) throw Error("bilstm: empty sequence");
  Variable out;
  dispatch::on_device(
      x.value(), "bilstm", [&] { out = bilstm_cpu(x, forward, backward, o); },
      [&](cudaStream_t stream) { out = bilstm_cuda(x, forward, backward, o, stream); });
  return out;
}

}  // namespace hl::ag
