// The CUDA LSTM (kernels/cuda/lstm.h) against kernels/cpu/lstm.cpp, and the autograd
// tape on CUDA tensors against the same graph on the CPU:
//   - one direction, both orders, with and without a recurrent mask, on
//     (B=3, T=7, in=5, h=4) and the paper's (B=16, T=150, in=385, h=20): h, c, the
//     activated gates, dx, dw, du, db; and both directions in one launch;
//   (ag::bilstm on CUDA, fused directions with dropout masks drawn on the GPU, against
//   ag::bilstm on the CPU, in last-state and full-sequence modes: op-table rows
//   bilstm_*, tests/ops/test_op_table_cuda.cpp)
//   - an end-to-end small graph of every op family through the tape, then an Adam step.
// Outputs are poisoned with NaN before each kernel run. Tolerance max|a-b| / max|b|:
// 1e-5 for the small shapes; 5e-5 for the 150-step recurrence (f32 rounding differences
// between cuBLAS and OpenBLAS products carried through 150 steps).
#include <gtest/gtest.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "cuda/cuda_test_util.h"
#include "engine/autograd/conv_pool.h"
#include "engine/autograd/dropout.h"
#include "engine/autograd/elementwise.h"
#include "engine/autograd/linear.h"
#include "engine/autograd/loss.h"
#include "engine/autograd/lstm.h"
#include "engine/autograd/norm.h"
#include "engine/autograd/shape_ops.h"
#include "engine/autograd/softmax.h"
#include "engine/optim/adam.h"
#include "kernels/cpu/dropout.h"
#include "kernels/cpu/lstm.h"
#include "kernels/cuda/lstm.h"
#include "support/test_support.h"

namespace hl {
namespace {

using test::expect_close;
using test::random_floats;

const Device kCuda = Device::cuda(0);

struct Buf {
  Tensor t;
  int64_t n = 0;
  float* p() { return static_cast<float*>(t.raw()); }
  std::vector<float> get() const { return test::download<float>(t, n); }
};
Buf up(const std::vector<float>& v) { return {test::upload(v), static_cast<int64_t>(v.size())}; }
Buf out(int64_t n) {
  Buf b{test::device_buffer<float>(n > 0 ? n : 1), n};
  test::poison(b.t);
  return b;
}

struct LstmCase {
  int64_t batch, time, input, hidden;
  double tol;
};
void PrintTo(const LstmCase& c, std::ostream* os) {
  *os << "B=" << c.batch << " T=" << c.time << " in=" << c.input << " h=" << c.hidden << " tol=" << c.tol;
}

// Inputs of one direction, and the CPU's results.
struct Direction {
  std::vector<float> x, w, u, b, r, dhs;
  std::vector<float> hs, cs, gates, dx, dw, du, db;
};

Direction cpu_direction(const LstmCase& c, bool reverse, bool masked, uint32_t seed) {
  Direction d;
  const int64_t B = c.batch, T = c.time, I = c.input, H = c.hidden, G = 4 * H;
  d.x = random_floats(B * T * I, seed, -1, 1);
  d.w = random_floats(I * G, seed + 1, -0.3f, 0.3f);
  d.u = random_floats(H * G, seed + 2, -0.5f, 0.5f);
  d.b = random_floats(G, seed + 3, -0.5f, 0.5f);
  if (masked) {
    d.r.resize(B * H);
    cpu::dropout_mask(uint64_t{seed}, 0, 0.3f, d.r.data(), B * H);
  }
  d.dhs = random_floats(B * T * H, seed + 4);
  d.hs.resize(B * T * H), d.cs.resize(B * T * H), d.gates.resize(B * T * G);
  d.dx.resize(B * T * I), d.dw.resize(I * G), d.du.resize(H * G), d.db.resize(G);
  cpu::LstmShape s{B, T, I, H, reverse};
  const float* r = masked ? d.r.data() : nullptr;
  cpu::lstm_forward(s, d.x.data(), d.w.data(), d.u.data(), d.b.data(), r, d.hs.data(), d.cs.data(), d.gates.data());
  cpu::lstm_backward(s, d.x.data(), d.w.data(), d.u.data(), r, d.hs.data(), d.cs.data(), d.gates.data(), d.dhs.data(),
                     d.dx.data(), d.dw.data(), d.du.data(), d.db.data());
  return d;
}

// Device copies and outputs of one direction.
struct DeviceDirection {
  Buf x, w, u, b, r, cs, gates, prev, dz, dx, dw, du, db;
};

DeviceDirection device_direction(const LstmCase& c, const Direction& d) {
  const int64_t B = c.batch, T = c.time, I = c.input, H = c.hidden, G = 4 * H;
  DeviceDirection g;
  g.x = up(d.x), g.w = up(d.w), g.u = up(d.u), g.b = up(d.b);
  if (!d.r.empty()) g.r = up(d.r);
  g.cs = out(B * T * H), g.gates = out(B * T * G), g.prev = out(B * T * H), g.dz = out(B * T * G);
  g.dx = out(B * T * I), g.dw = out(I * G), g.du = out(H * G), g.db = out(G);
  return g;
}

cuda::LstmForwardArgs fwd_args(DeviceDirection& g, float* hs, bool reverse) {
  cuda::LstmForwardArgs a;
  a.x = g.x.p(), a.w = g.w.p(), a.u = g.u.p(), a.b = g.b.p(), a.r = g.r.n ? g.r.p() : nullptr;
  a.hs = hs, a.cs = g.cs.p(), a.gates = g.gates.p(), a.prev = g.prev.p(), a.reverse = reverse;
  return a;
}

cuda::LstmBackwardArgs bwd_args(DeviceDirection& g, const float* dhs, bool reverse) {
  cuda::LstmBackwardArgs a;
  a.x = g.x.p(), a.w = g.w.p(), a.u = g.u.p(), a.r = g.r.n ? g.r.p() : nullptr;
  a.cs = g.cs.p(), a.gates = g.gates.p(), a.prev = g.prev.p(), a.dhs = dhs, a.dz = g.dz.p();
  a.dx = g.dx.p(), a.dw = g.dw.p(), a.du = g.du.p(), a.db = g.db.p(), a.reverse = reverse;
  return a;
}

void compare(const LstmCase& c, DeviceDirection& g, const Direction& d, const std::vector<float>& hs_got,
             const std::string& what) {
  expect_close(hs_got, d.hs, c.tol, what + " h");
  expect_close(g.cs.get(), d.cs, c.tol, what + " c");
  expect_close(g.gates.get(), d.gates, c.tol, what + " gates");
  expect_close(g.dx.get(), d.dx, c.tol, what + " dx");
  expect_close(g.dw.get(), d.dw, c.tol, what + " dkernel");
  expect_close(g.du.get(), d.du, c.tol, what + " drecurrent");
  expect_close(g.db.get(), d.db, c.tol, what + " dbias");
}

class CudaLstmKernel : public ::testing::TestWithParam<LstmCase> {};

TEST_P(CudaLstmKernel, OneDirectionMatchesCpu) {
  HL_REQUIRE_CUDA();
  const LstmCase c = GetParam();
  const cpu::LstmShape s{c.batch, c.time, c.input, c.hidden, false};
  for (bool reverse : {false, true})
    for (bool masked : {false, true}) {
      const Direction d = cpu_direction(c, reverse, masked, 1000);
      DeviceDirection g = device_direction(c, d);
      Buf hs = out(c.batch * c.time * c.hidden), dhs = up(d.dhs);
      const cuda::LstmForwardArgs fa = fwd_args(g, hs.p(), reverse);
      cuda::lstm_forward(s, &fa, 1, c.hidden, test::cuda_stream());
      const cuda::LstmBackwardArgs ba = bwd_args(g, dhs.p(), reverse);
      cuda::lstm_backward(s, &ba, 1, c.hidden, test::cuda_stream());
      compare(c, g, d, hs.get(), std::string(reverse ? "reverse" : "forward") + (masked ? " masked" : ""));
    }
}

// Both directions in one launch, writing one [B, T, 2h] output and reading one [B, T, 2h] gradient.
TEST_P(CudaLstmKernel, BothDirectionsInOneLaunch) {
  HL_REQUIRE_CUDA();
  const LstmCase c = GetParam();
  const int64_t B = c.batch, T = c.time, H = c.hidden;
  const cpu::LstmShape s{B, T, c.input, H, false};
  const Direction df = cpu_direction(c, false, true, 2000), db = cpu_direction(c, true, false, 3000);
  DeviceDirection gf = device_direction(c, df), gb = device_direction(c, db);
  std::vector<float> dhs2(B * T * 2 * H);
  for (int64_t row = 0; row < B * T; ++row)
    for (int64_t j = 0; j < H; ++j) {
      dhs2[row * 2 * H + j] = df.dhs[row * H + j];
      dhs2[row * 2 * H + H + j] = db.dhs[row * H + j];
    }
  Buf hs = out(B * T * 2 * H), dhs = up(dhs2);
  const cuda::LstmForwardArgs fa[2] = {fwd_args(gf, hs.p(), false), fwd_args(gb, hs.p() + H, true)};
  cuda::lstm_forward(s, fa, 2, 2 * H, test::cuda_stream());
  const cuda::LstmBackwardArgs ba[2] = {bwd_args(gf, dhs.p(), false), bwd_args(gb, dhs.p() + H, true)};
  cuda::lstm_backward(s, ba, 2, 2 * H, test::cuda_stream());
  const std::vector<float> all = hs.get();
  std::vector<float> hf(B * T * H), hb(B * T * H);
  for (int64_t row = 0; row < B * T; ++row)
    for (int64_t j = 0; j < H; ++j) {
      hf[row * H + j] = all[row * 2 * H + j];
      hb[row * H + j] = all[row * 2 * H + H + j];
    }
  compare(c, gf, df, hf, "fused forward direction");
  compare(c, gb, db, hb, "fused backward direction");
}

INSTANTIATE_TEST_SUITE_P(Shapes, CudaLstmKernel,
                         ::testing::Values(LstmCase{3, 7, 5, 4, 1e-5}, LstmCase{16, 150, 385, 20, 5e-5},
                                           LstmCase{5, 9, 3, 64, 1e-5}),
                         [](const auto& info) {
                           const LstmCase& c = info.param;
                           return "B" + std::to_string(c.batch) + "_T" + std::to_string(c.time) + "_in" +
                                  std::to_string(c.input) + "_h" + std::to_string(c.hidden);
                         });

TEST(CudaLstmKernel, RejectsLargeHidden) {
  HL_REQUIRE_CUDA();
  const cpu::LstmShape s{1, 1, 1, 65, false};
  cuda::LstmForwardArgs a;
  EXPECT_THROW(cuda::lstm_forward(s, &a, 1, 65, test::cuda_stream()), Error);
}

// --- through the tape ----------------------------------------------------------------------

std::vector<float> host(const Tensor& t) {
  const Tensor h = t.to(Device::cpu());
  return {h.data<float>(), h.data<float>() + h.numel()};
}

Tensor rand_tensor(const Shape& shape, uint32_t seed, float lo = -1, float hi = 1) {
  return Tensor::from_vector(shape, random_floats(shape.numel(), seed, lo, hi));
}

// A parameter on `device` from a CPU tensor (the same values on both devices).
ag::Variable param(const Tensor& cpu_value, Device device) { return ag::Variable(cpu_value.to(device), true); }

// Every op family in one graph, forward, backward, then one Adam step, on both devices.
TEST(CudaAutogradTape, SmallGraphEndToEnd) {
  HL_REQUIRE_CUDA();
  const int64_t B = 4, T = 10, C = 6, H = 8;
  const Tensor x0 = rand_tensor(Shape{B, T, C}, 11), y0 = rand_tensor(Shape{B}, 12, 0, 1);
  const Tensor conv_w = rand_tensor(Shape{3, C, C}, 13, -0.4f, 0.4f), conv_b = rand_tensor(Shape{C}, 14);
  const Tensor k0 = rand_tensor(Shape{C, 4 * H}, 15, -0.3f, 0.3f), u0 = rand_tensor(Shape{H, 4 * H}, 16, -0.3f, 0.3f),
               b0 = rand_tensor(Shape{4 * H}, 17), k1 = rand_tensor(Shape{C, 4 * H}, 18, -0.3f, 0.3f),
               u1 = rand_tensor(Shape{H, 4 * H}, 19, -0.3f, 0.3f), b1 = rand_tensor(Shape{4 * H}, 20);
  const Tensor ln_g = rand_tensor(Shape{2 * H}, 21, 0.5f, 1.5f), ln_b = rand_tensor(Shape{2 * H}, 22);
  const Tensor d_w = rand_tensor(Shape{2 * H, 3}, 23, -0.5f, 0.5f), d_b = rand_tensor(Shape{3}, 24);
  std::vector<std::vector<float>> results[2];
  for (int dev = 0; dev < 2; ++dev) {
    const Device d = dev == 0 ? Device::cpu() : kCuda;
    std::vector<ag::Variable> ps = {param(conv_w, d), param(conv_b, d), param(k0, d),  param(u0, d),
                                    param(b0, d),     param(k1, d),     param(u1, d),  param(b1, d),
                                    param(ln_g, d),   param(ln_b, d),   param(d_w, d), param(d_b, d)};
    ag::Variable x(x0.to(d), true), label(y0.to(d));
    ag::Variable h = ag::relu(ag::conv1d_same(x, ps[0], ps[1]));  // [B, T, C]
    h = ag::maxpool1d_2(h);                                       // [B, T/2, C]
    h = ag::dropout(h, 0.25f, true, {9, 100});
    ag::BiLstmOptions o;
    o.training = true, o.input_dropout = 0.1f, o.recurrent_dropout = 0.1f, o.rng = {9, 1000};
    ag::Variable z = ag::bilstm(h, {ps[2], ps[3], ps[4]}, {ps[5], ps[6], ps[7]}, o);  // [B, 2H]
    ag::Variable zn = ag::layer_norm(z, ps[8], ps[9]);
    ag::Variable zv = ag::layer_norm_vasnet(z, ps[8], ps[9]);
    ag::Variable logits = ag::linear(ag::add(zn, ag::scale(zv, 0.5f)), ps[10], ps[11]);  // [B, 3]
    ag::Variable attn = ag::softmax(logits, 1);
    ag::Variable mixed = ag::concat({ag::narrow(attn, 1, 0, 2), ag::tanh(ag::narrow(logits, 1, 2, 1))}, 1);
    ag::Variable score = ag::sigmoid(ag::sum(ag::mul(mixed, mixed), 1));  // [B]
    ag::Variable pair_hi = ag::narrow(score, 0, 0, B / 2), pair_lo = ag::narrow(score, 0, B / 2, B / 2);
    ag::Variable loss = ag::add(ag::add(ag::ccc_loss(score, label), ag::mse_loss(score, label)),
                                ag::add(ag::margin_ranking_loss(pair_hi, pair_lo), ag::mean_all(mixed)));
    loss.backward();
    std::vector<std::vector<float>>& r = results[dev];
    r.push_back(host(loss.value()));
    r.push_back(host(x.grad()));
    for (auto& p : ps) r.push_back(host(p.grad()));
    // A tiny learning rate: Adam's first step is lr * sign(g) wherever |g| >> eps, so a
    // gradient that is rounding noise on one device could flip a whole lr-sized step.
    // This checks the dispatch and state handling; the kernel itself is checked bit for
    // bit in test_cuda_autograd.cpp.
    optim::AdamHyper hyper;
    hyper.lr = 1e-7f;
    optim::Adam adam(ps, hyper);
    adam.step();
    for (auto& p : ps) r.push_back(host(p.value()));
  }
  ASSERT_EQ(results[0].size(), results[1].size());
  for (size_t i = 0; i < results[0].size(); ++i)
    expect_close(results[1][i], results[0][i], 1e-5,
                 "end-to-end result " + std::to_string(i) +
                     (i == 0   ? " (loss)"
                      : i == 1 ? " (dx)"
                      : i < 14 ? " (grad)"
                               : " (param after Adam)"));
}

TEST(CudaAutogradTape, MixedDevicesAreRejected) {
  HL_REQUIRE_CUDA();
  ag::Variable a(rand_tensor(Shape{3}, 1), true), b(rand_tensor(Shape{3}, 2).to(kCuda), true);
  try {
    ag::mse_loss(a, b);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("different devices"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace hl
