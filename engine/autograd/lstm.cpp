#include "engine/autograd/lstm.h"

#include "engine/autograd/elementwise.h"
#include "engine/autograd/shape_ops.h"
#include "kernels/cpu/concat.h"
#include "kernels/cpu/lstm.h"

namespace hl::ag {

namespace {

// mask [batch, features] repeated over time: [batch, time, features].
Tensor repeat_over_time(const Tensor& mask, int64_t time) {
  const int64_t batch = mask.size(0), features = mask.size(1);
  Tensor out = Tensor::empty(Shape{batch, time, features}, DType::F32);
  for (int64_t t = 0; t < time; ++t) cpu::copy_slab(mask.raw(), 1, 0, out.raw(), time, t, batch, 1, features, 4);
  return out;
}

}  // namespace

LstmResult lstm(const Variable& x, const LstmParams& p, bool reverse, const LstmMasks& masks) {
  for (const Variable* v : {&x, &p.kernel, &p.recurrent, &p.bias}) require_cpu_f32(v->value(), "lstm");
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
  Variable xin = x;
  if (masks.input.defined()) {
    if (!(masks.input.shape() == Shape{s.batch, s.input})) throw Error("lstm: input mask " + masks.input.str());
    xin = mul(x, Variable(repeat_over_time(masks.input, s.time)));
  }
  const Tensor r = masks.recurrent;
  if (r.defined() && !(r.shape() == Shape{s.batch, s.hidden})) throw Error("lstm: recurrent mask " + r.str());
  Tensor hs = Tensor::empty(Shape{s.batch, s.time, s.hidden}, DType::F32);
  Tensor cs = Tensor::empty(Shape{s.batch, s.time, s.hidden}, DType::F32);
  Tensor gates = Tensor::empty(Shape{s.batch, s.time, G}, DType::F32);
  const Tensor xv = xin.value(), wv = p.kernel.value(), uv = p.recurrent.value();
  cpu::lstm_forward(s, xv.data<float>(), wv.data<float>(), uv.data<float>(), p.bias.value().data<float>(),
                    r.defined() ? r.data<float>() : nullptr, hs.data<float>(), cs.data<float>(), gates.data<float>());
  LstmResult out;
  out.c_last = Tensor::empty(Shape{s.batch, s.hidden}, DType::F32);
  if (s.time > 0)
    cpu::copy_slab(cs.raw(), s.time, reverse ? 0 : s.time - 1, out.c_last.raw(), 1, 0, s.batch, 1, s.hidden, 4);
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

LstmMasks lstm_masks(int64_t batch, int64_t input, int64_t hidden, const BiLstmOptions& o, uint64_t offset) {
  LstmMasks m;
  if (!o.training) return m;
  if (o.input_dropout > 0) m.input = dropout_mask(Shape{batch, input}, o.input_dropout, {o.rng.seed, offset});
  if (o.recurrent_dropout > 0)
    m.recurrent = dropout_mask(Shape{batch, hidden}, o.recurrent_dropout, {o.rng.seed, offset + static_cast<uint64_t>(batch * input)});
  return m;
}

Variable bilstm(const Variable& x, const LstmParams& forward, const LstmParams& backward, const BiLstmOptions& o) {
  if (x.ndim() != 3) throw Error("bilstm: expects x [batch, time, input], got " + x.value().str());
  const int64_t batch = x.size(0), time = x.size(1), input = x.size(2), hidden = forward.recurrent.size(0);
  if (time < 1) throw Error("bilstm: empty sequence");
  const uint64_t per_direction = static_cast<uint64_t>(batch * (input + hidden));
  const LstmResult f = lstm(x, forward, false, lstm_masks(batch, input, hidden, o, o.rng.offset));
  const LstmResult b = lstm(x, backward, true, lstm_masks(batch, input, hidden, o, o.rng.offset + per_direction));
  if (o.full_sequence) return concat({f.hs, b.hs}, 2);
  const Variable last_f = reshape(narrow(f.hs, 1, time - 1, 1), {batch, hidden});
  const Variable first_b = reshape(narrow(b.hs, 1, 0, 1), {batch, hidden});
  return concat({last_f, first_b}, 1);
}

}  // namespace hl::ag
