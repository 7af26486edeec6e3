// Rows: ag::lstm (one direction, both orders, input and recurrent dropout masks) and
// ag::bilstm (last states or the full sequence, with dropout masks drawn from a fixed
// seed). The reference is the Keras LSTM written out step by step in double
// (kernels/cpu/lstm.h gives the layout: gates i, f, g, o; one bias; batch first).
#include <cmath>
#include <string>

#include "engine/autograd/lstm.h"
#include "kernels/cpu/lstm.h"
#include "ops/rows.h"

namespace hl::optable {

namespace {

double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

struct Lstm {
  int64_t batch, time, input, hidden;
};

// hs [B, T, H] of one direction. m [B, I] multiplies x_t and r [B, H] multiplies h_{t-1}
// (null: no mask); reverse runs t from T - 1 down to 0.
Vec reference_lstm(const Lstm& s, const Vec& x, const Vec& w, const Vec& u, const Vec& b, const Vec* m, const Vec* r,
                   bool reverse) {
  const int64_t B = s.batch, T = s.time, I = s.input, H = s.hidden, G = 4 * H;
  Vec hs(static_cast<size_t>(B * T * H));
  for (int64_t n = 0; n < B; ++n) {
    Vec h(H, 0.0), c(H, 0.0), z(G);
    for (int64_t step = 0; step < T; ++step) {
      const int64_t t = reverse ? T - 1 - step : step;
      for (int64_t j = 0; j < G; ++j) {
        double acc = b[j];
        for (int64_t i = 0; i < I; ++i) acc += x[(n * T + t) * I + i] * (m ? (*m)[n * I + i] : 1.0) * w[i * G + j];
        for (int64_t k = 0; k < H; ++k) acc += h[k] * (r ? (*r)[n * H + k] : 1.0) * u[k * G + j];
        z[j] = acc;
      }
      for (int64_t k = 0; k < H; ++k) {
        const double in = sigmoid(z[k]), forget = sigmoid(z[H + k]), cell = std::tanh(z[2 * H + k]),
                     out = sigmoid(z[3 * H + k]);
        c[k] = forget * c[k] + in * cell;
        h[k] = out * std::tanh(c[k]);
        hs[(n * T + t) * H + k] = h[k];
      }
    }
  }
  return hs;
}

// Inputs: x, kernel, recurrent, bias, then the input mask and the recurrent mask if used.
OpRow lstm_row(const Lstm& s, bool reverse, bool input_mask, bool recurrent_mask) {
  const int64_t G = 4 * s.hidden;
  OpRow r;
  r.name = "lstm_" + dims_name({s.batch, s.time, s.input}) + "_h" + std::to_string(s.hidden) +
           (reverse ? "_reverse" : "") + (input_mask ? "_xmask" : "") + (recurrent_mask ? "_hmask" : "");
  r.inputs = {{{s.batch, s.time, s.input}}, {{s.input, G}, true, Fill::normal(0.5)},
              {{s.hidden, G}, true, Fill::normal(0.5)}, {{G}, true, Fill::normal(0.5)}};
  const int mi = input_mask ? static_cast<int>(r.inputs.size()) : -1;
  if (input_mask) r.inputs.push_back(constant({s.batch, s.input}, Fill::mask(0.3)));
  const int ri = recurrent_mask ? static_cast<int>(r.inputs.size()) : -1;
  if (recurrent_mask) r.inputs.push_back(constant({s.batch, s.hidden}, Fill::mask(0.3)));
  r.op = [=](const std::vector<ag::Variable>& v) {
    ag::LstmMasks masks;
    if (mi >= 0) masks.input = v[mi].value();
    if (ri >= 0) masks.recurrent = v[ri].value();
    return ag::lstm(v[0], {v[1], v[2], v[3]}, reverse, masks).hs;
  };
  r.reference = [=](const std::vector<Vec>& v) {
    return reference_lstm(s, v[0], v[1], v[2], v[3], mi >= 0 ? &v[mi] : nullptr, ri >= 0 ? &v[ri] : nullptr, reverse);
  };
  // The kernel takes the recurrent mask; input dropout is the caller's x * mask.
  r.kernel_f64 = [=](const std::vector<Vec>& v, const Vec* dy, std::vector<Vec>* g) {
    cpu::LstmShape k;
    k.batch = s.batch, k.time = s.time, k.input = s.input, k.hidden = s.hidden, k.reverse = reverse;
    Vec x = v[0];
    auto input_mask_at = [&](size_t e) { return v[mi][(e / (s.time * s.input)) * s.input + e % s.input]; };
    if (mi >= 0)
      for (size_t e = 0; e < x.size(); ++e) x[e] *= input_mask_at(e);
    const double* rm = ri >= 0 ? v[ri].data() : nullptr;
    Vec hs(static_cast<size_t>(s.batch * s.time * s.hidden)), cs(hs.size()), gates(static_cast<size_t>(s.batch * s.time * G));
    cpu::lstm_forward(k, x.data(), v[1].data(), v[2].data(), v[3].data(), rm, hs.data(), cs.data(), gates.data());
    if (dy) {
      *g = {Vec(x.size()), Vec(v[1].size()), Vec(v[2].size()), Vec(v[3].size())};
      cpu::lstm_backward(k, x.data(), v[1].data(), v[2].data(), rm, hs.data(), cs.data(), gates.data(), dy->data(),
                         (*g)[0].data(), (*g)[1].data(), (*g)[2].data(), (*g)[3].data());
      if (mi >= 0)
        for (size_t e = 0; e < x.size(); ++e) (*g)[0][e] *= input_mask_at(e);
      g->resize(v.size());  // the masks: no gradient
    }
    return hs;
  };
  return r;
}

// Inputs: x, then kernel, recurrent, bias of the forward direction, then of the backward.
OpRow bilstm_row(const Lstm& s, bool full_sequence, float dropout, const std::string& what, int64_t fd_elements = 400) {
  const int64_t B = s.batch, T = s.time, I = s.input, H = s.hidden, G = 4 * H;
  OpRow r;
  r.name = "bilstm_" + dims_name({B, T, I}) + "_h" + std::to_string(H) + "_" + what;
  r.inputs = {{{B, T, I}}};
  for (int d = 0; d < 2; ++d)
    for (const std::vector<int64_t>& shape : {std::vector<int64_t>{I, G}, {H, G}, {G}})
      r.inputs.push_back({shape, true, Fill::normal(0.5)});
  ag::BiLstmOptions o;
  o.input_dropout = o.recurrent_dropout = dropout;
  o.training = dropout > 0;
  o.rng = {77, 1000};
  o.full_sequence = full_sequence;
  r.op = [o](const std::vector<ag::Variable>& v) { return ag::bilstm(v[0], {v[1], v[2], v[3]}, {v[4], v[5], v[6]}, o); };
  r.reference = [=](const std::vector<Vec>& v) {
    // Each direction draws an input mask [B, I] then a recurrent mask [B, H] from the
    // stream, the forward direction first (engine/autograd/lstm.h).
    Vec masks[2][2];
    uint64_t offset = o.rng.offset;
    for (auto& direction : masks)
      for (int k = 0; k < 2; ++k) {
        const int64_t n = B * (k == 0 ? I : H);
        direction[k] = reference_dropout_mask(o.rng.seed, offset, dropout, n);
        offset += static_cast<uint64_t>(n);
      }
    Vec hs[2];
    for (int d = 0; d < 2; ++d)
      hs[d] = reference_lstm(s, v[0], v[1 + 3 * d], v[2 + 3 * d], v[3 + 3 * d], o.training ? &masks[d][0] : nullptr,
                             o.training ? &masks[d][1] : nullptr, d == 1);
    const int64_t steps = full_sequence ? T : 1;
    Vec y(static_cast<size_t>(B * steps * 2 * H));
    for (int64_t n = 0; n < B; ++n)
      for (int64_t t = 0; t < steps; ++t)
        for (int d = 0; d < 2; ++d)
          for (int64_t k = 0; k < H; ++k) {
            // Last states: the forward direction's at T - 1, the backward's at 0.
            const int64_t at = full_sequence ? t : (d == 0 ? T - 1 : 0);
            y[((n * steps + t) * 2 + d) * H + k] = hs[d][(n * T + at) * H + k];
          }
    return y;
  };
  r.fd_elements = fd_elements;
  return r;
}

}  // namespace

void add_lstm_rows(std::vector<OpRow>& rows) {
  for (bool reverse : {false, true})
    for (bool masked : {false, true}) rows.push_back(lstm_row({2, 4, 3, 3}, reverse, false, masked));
  rows.push_back(lstm_row({2, 4, 3, 3}, false, true, true));
  rows.push_back(lstm_row({1, 1, 2, 5}, false, false, false));  // batch 1, one step
  rows.push_back(lstm_row({3, 7, 5, 4}, true, true, true));

  rows.push_back(bilstm_row({2, 3, 3, 2}, false, 0.0f, "last"));
  rows.push_back(bilstm_row({2, 3, 3, 2}, true, 0.0f, "full"));
  rows.push_back(bilstm_row({3, 5, 4, 3}, false, 0.2f, "last_dropout"));
  rows.push_back(bilstm_row({3, 5, 4, 3}, true, 0.2f, "full_dropout"));
  rows.push_back(bilstm_row({1, 1, 2, 2}, false, 0.0f, "last"));
  // The paper's hidden size: on CUDA one block holds both directions' recurrent kernels.
  for (bool full : {false, true})
    for (float p : {0.0f, 0.2f})
      rows.push_back(bilstm_row({6, 11, 7, 20}, full, p, std::string(full ? "full" : "last") + (p > 0 ? "_dropout" : ""), 48));
}

}  // namespace hl::optable
