// The training ops' CUDA kernels (kernels/cuda/{act_grad,softmax,concat,linear,loss,pool,
// conv1d,dropout,norm,optim}) against the CPU kernels, the specification, called through
// their raw pointer interfaces on fresh random inputs, every output poisoned with NaN
// first (an element a kernel forgets to write stays NaN and fails the comparison).
// Tolerance (DESIGN section 6): max|a - b| / max|b| <= 1e-5 where the summation order
// differs (GEMMs, tree reductions, transcendental functions); bit-exact where the kernel
// is the CPU's arithmetic in the CPU's order (activation backward, slab copies, pooling,
// dropout masks, Adam).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "cuda/cuda_test_util.h"
#include "kernels/cpu/act_grad.h"
#include "kernels/cpu/concat.h"
#include "kernels/cpu/conv1d.h"
#include "kernels/cpu/dropout.h"
#include "kernels/cpu/linear.h"
#include "kernels/cpu/loss.h"
#include "kernels/cpu/norm.h"
#include "kernels/cpu/optim.h"
#include "kernels/cpu/pool.h"
#include "kernels/cpu/softmax.h"
#include "kernels/cuda/act_grad.h"
#include "kernels/cuda/concat.h"
#include "kernels/cuda/conv1d.h"
#include "kernels/cuda/dropout.h"
#include "kernels/cuda/linear.h"
#include "kernels/cuda/loss.h"
#include "kernels/cuda/norm.h"
#include "kernels/cuda/optim.h"
#include "kernels/cuda/pool.h"
#include "kernels/cuda/softmax.h"
#include "support/test_support.h"

namespace hl {
namespace {

using test::expect_close;
using test::expect_same_floats;
using test::random_floats;

constexpr double kTol = 1e-5;

// A device copy of host data, and a NaN-poisoned device output of n floats.
struct Buf {
  Tensor t;
  int64_t n = 0;
  float* p() { return n > 0 ? static_cast<float*>(t.raw()) : nullptr; }
  std::vector<float> get() const { return test::download<float>(t, n); }
};
Buf up(const std::vector<float>& v) {
  return {test::upload(v.empty() ? std::vector<float>{0.0f} : v), static_cast<int64_t>(v.size())};
}
Buf out(int64_t n) {
  Buf b{test::device_buffer<float>(n > 0 ? n : 1), n};
  test::poison(b.t);
  return b;
}
cudaStream_t stream() { return test::cuda_stream(); }

// --- activations and sum/mean backward ----------------------------------------------------

TEST(CudaAutogradKernels, ActivationBackwardBitExact) {
  HL_REQUIRE_CUDA();
  const int64_t n = 10007;
  auto x = random_floats(n, 1, -6, 6), dy = random_floats(n, 2);
  x[0] = 0.0f;  // relu'(0) = 0
  for (auto kind : {cpu::Activation::Relu, cpu::Activation::Sigmoid, cpu::Activation::Tanh}) {
    std::vector<float> y(n), want(n);
    cpu::activation_forward(kind, x.data(), y.data(), n);
    cpu::activation_backward(kind, x.data(), y.data(), dy.data(), want.data(), n);
    Buf dx = up(x), dyv = up(y), ddy = up(dy), got = out(n);
    cuda::activation_backward(kind, dx.p(), dyv.p(), ddy.p(), got.p(), n, stream());
    expect_same_floats(got.get(), want, "activation backward " + std::to_string(static_cast<int>(kind)));
  }
}

TEST(CudaAutogradKernels, BroadcastMiddleBitExact) {
  HL_REQUIRE_CUDA();
  for (auto [outer, n, inner] : {std::tuple<int64_t, int64_t, int64_t>{3, 5, 7}, {1, 9, 1}, {4, 1, 6}, {2, 300, 1}}) {
    auto dy = random_floats(outer * inner, 3);
    std::vector<float> want(outer * n * inner);
    cpu::broadcast_middle(dy.data(), want.data(), outer, n, inner, 1.0f / static_cast<float>(n));
    Buf d = up(dy), got = out(outer * n * inner);
    cuda::broadcast_middle(d.p(), got.p(), outer, n, inner, 1.0f / static_cast<float>(n), stream());
    expect_same_floats(got.get(), want, "broadcast_middle");
  }
}

// --- softmax --------------------------------------------------------------------------------

TEST(CudaAutogradKernels, SoftmaxForwardBackward) {
  HL_REQUIRE_CUDA();
  for (auto [outer, n, inner] :
       {std::tuple<int64_t, int64_t, int64_t>{3, 5, 7}, {20, 150, 1}, {4, 1, 3}, {2, 33, 65}}) {
    const int64_t total = outer * n * inner;
    auto x = random_floats(total, 4, -5, 5), dy = random_floats(total, 5);
    std::vector<float> y(total), dx(total);
    cpu::softmax_forward(x.data(), y.data(), outer, n, inner);
    cpu::softmax_backward(y.data(), dy.data(), dx.data(), outer, n, inner);
    Buf dxin = up(x), gy = out(total);
    cuda::softmax_forward(dxin.p(), gy.p(), outer, n, inner, stream());
    const std::string what = "softmax " + std::to_string(outer) + "x" + std::to_string(n) + "x" + std::to_string(inner);
    expect_close(gy.get(), y, kTol, what + " forward");
    Buf yv = up(y), ddy = up(dy), gdx = out(total);  // backward from the CPU's y: isolates the backward kernel
    cuda::softmax_backward(yv.p(), ddy.p(), gdx.p(), outer, n, inner, stream());
    expect_close(gdx.get(), dx, kTol, what + " backward");
  }
}

// --- concat / narrow slabs ------------------------------------------------------------------

TEST(CudaAutogradKernels, CopySlabBitExact) {
  HL_REQUIRE_CUDA();
  const int64_t outer = 3, src_n = 7, dst_n = 11, inner = 5, len = 4, src_start = 2, dst_start = 6;
  auto src = random_floats(outer * src_n * inner, 6);
  auto dst0 = random_floats(outer * dst_n * inner, 7);
  std::vector<float> want = dst0;
  cpu::copy_slab(src.data(), src_n, src_start, want.data(), dst_n, dst_start, outer, len, inner, 4);
  Buf s = up(src), d = up(dst0);
  cuda::copy_slab(s.p(), src_n, src_start, d.p(), dst_n, dst_start, outer, len, inner, 4, stream());
  expect_same_floats(d.get(), want, "copy_slab (rows outside the slab untouched)");
  Buf z = out(13);
  cuda::zero_fill(z.p(), 13 * sizeof(float), stream());
  expect_same_floats(z.get(), std::vector<float>(13, 0.0f), "zero_fill");
}

// --- linear and matmul backward -----------------------------------------------------------

TEST(CudaAutogradKernels, LinearForwardBackward) {
  HL_REQUIRE_CUDA();
  for (bool bias : {true, false}) {
    const int64_t rows = 37, in = 19, outn = 23;
    auto x = random_floats(rows * in, 8), w = random_floats(in * outn, 9), b = random_floats(outn, 10),
         dy = random_floats(rows * outn, 11);
    std::vector<float> y(rows * outn), dx(rows * in), dw(in * outn), db(outn);
    cpu::linear_forward(x.data(), w.data(), bias ? b.data() : nullptr, y.data(), rows, in, outn);
    cpu::linear_backward(x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data(), rows, in, outn);
    Buf gx = up(x), gw = up(w), gb = up(b), gdy = up(dy), gy = out(rows * outn), gdx = out(rows * in),
        gdw = out(in * outn), gdb = out(outn);
    cuda::linear_forward(gx.p(), gw.p(), bias ? gb.p() : nullptr, gy.p(), rows, in, outn, stream());
    cuda::linear_backward(gx.p(), gw.p(), gdy.p(), gdx.p(), gdw.p(), gdb.p(), rows, in, outn, stream());
    const std::string what = bias ? "linear+bias " : "linear ";
    expect_close(gy.get(), y, kTol, what + "y");
    expect_close(gdx.get(), dx, kTol, what + "dx");
    expect_close(gdw.get(), dw, kTol, what + "dw");
    expect_close(gdb.get(), db, kTol, what + "db");
  }
}

TEST(CudaAutogradKernels, MatmulBackwardAllTransposesAndSharedB) {
  HL_REQUIRE_CUDA();
  const int64_t batch = 3, m = 5, k = 7, n = 4;
  for (int shared = 0; shared < 2; ++shared)
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb) {
        GemmShape s;
        s.batch = batch, s.m = m, s.n = n, s.k = k, s.trans_a = ta, s.trans_b = tb;
        s.stride_a = m * k, s.stride_b = shared ? 0 : k * n, s.stride_c = m * n;
        auto a = random_floats(batch * m * k, 12), b = random_floats((shared ? 1 : batch) * k * n, 13),
             dc = random_floats(batch * m * n, 14);
        std::vector<float> da(a.size()), db(b.size());
        cpu::matmul_backward(s, a.data(), b.data(), dc.data(), da.data(), db.data());
        Buf ga = up(a), gb = up(b), gdc = up(dc), gda = out(static_cast<int64_t>(a.size())),
            gdb = out(static_cast<int64_t>(b.size()));
        cuda::matmul_backward(s, ga.p(), gb.p(), gdc.p(), gda.p(), gdb.p(), stream());
        const std::string what = "matmul_backward shared=" + std::to_string(shared) + " ta=" + std::to_string(ta) +
                                 " tb=" + std::to_string(tb);
        expect_close(gda.get(), da, kTol, what + " dA");
        expect_close(gdb.get(), db, kTol, what + " dB");
      }
}

// --- losses ---------------------------------------------------------------------------------

TEST(CudaAutogradKernels, Losses) {
  HL_REQUIRE_CUDA();
  for (int64_t n : {1, 7, 300, 4099}) {
    auto p = random_floats(n, 15, -1, 2), y = random_floats(n, 16, 0, 1);
    const float dloss = 0.7f;
    Buf gp = up(p), gy = up(y), gdl = up({dloss});
    const std::string at = " n=" + std::to_string(n);
    {
      Buf l = out(1), dp = out(n);
      cuda::mse_forward(gp.p(), gy.p(), n, l.p(), stream());
      cuda::mse_backward(gp.p(), gy.p(), n, gdl.p(), dp.p(), stream());
      std::vector<float> want(n);
      cpu::mse_backward(p.data(), y.data(), n, dloss, want.data());
      expect_close(l.get(), {cpu::mse_forward(p.data(), y.data(), n)}, kTol, "mse" + at);
      expect_close(dp.get(), want, kTol, "mse backward" + at);
    }
    if (n > 1) {  // CCC needs some variance
      Buf l = out(1), dp = out(n);
      cuda::ccc_loss_forward(gp.p(), gy.p(), n, l.p(), stream());
      cuda::ccc_loss_backward(gp.p(), gy.p(), n, gdl.p(), dp.p(), stream());
      std::vector<float> want(n);
      cpu::ccc_loss_backward(p.data(), y.data(), n, dloss, want.data());
      expect_close(l.get(), {cpu::ccc_loss_forward(p.data(), y.data(), n)}, kTol, "ccc" + at);
      expect_close(dp.get(), want, kTol, "ccc backward" + at);
    }
    {
      Buf l = out(1), dhi = out(n), dlo = out(n);
      cuda::margin_ranking_forward(gp.p(), gy.p(), n, 1.0f, l.p(), stream());
      cuda::margin_ranking_backward(gp.p(), gy.p(), n, 1.0f, gdl.p(), dhi.p(), dlo.p(), stream());
      std::vector<float> whi(n), wlo(n);
      cpu::margin_ranking_backward(p.data(), y.data(), n, 1.0f, dloss, whi.data(), wlo.data());
      expect_close(l.get(), {cpu::margin_ranking_forward(p.data(), y.data(), n, 1.0f)}, kTol, "ranking" + at);
      expect_same_floats(dhi.get(), whi, "ranking dhi" + at);
      expect_same_floats(dlo.get(), wlo, "ranking dlo" + at);
    }
  }
}

// --- max pooling ----------------------------------------------------------------------------

TEST(CudaAutogradKernels, MaxPoolBitExactWithTiesAndOddTime) {
  HL_REQUIRE_CUDA();
  for (int64_t time : {8, 9, 1}) {
    const int64_t batch = 3, channels = 5, out_t = time / 2;
    auto x = random_floats(batch * time * channels, 17, -2, 2);
    for (float& v : x) v = std::round(v * 2.0f) / 2.0f;  // few distinct values: many ties
    auto dy = random_floats(batch * out_t * channels, 18);
    std::vector<float> y(batch * out_t * channels), dx(batch * time * channels);
    cpu::maxpool1d_2_forward(x.data(), y.data(), batch, time, channels);
    cpu::maxpool1d_2_backward(x.data(), dy.data(), dx.data(), batch, time, channels);
    Buf gx = up(x), gdy = up(dy), gy = out(static_cast<int64_t>(y.size())), gdx = out(static_cast<int64_t>(dx.size()));
    cuda::maxpool1d_2_forward(gx.p(), gy.p(), batch, time, channels, stream());
    cuda::maxpool1d_2_backward(gx.p(), gdy.p(), gdx.p(), batch, time, channels, stream());
    expect_same_floats(gy.get(), y, "maxpool forward time=" + std::to_string(time));
    expect_same_floats(gdx.get(), dx, "maxpool backward time=" + std::to_string(time));
  }
}

// --- conv1d ---------------------------------------------------------------------------------

TEST(CudaAutogradKernels, Conv1dSameForwardBackward) {
  HL_REQUIRE_CUDA();
  for (int64_t k : {1, 2, 3, 5}) {
    cpu::Conv1dShape s;
    s.batch = 3, s.time = 11, s.c_in = 4, s.c_out = 6, s.k = k;
    auto x = random_floats(s.batch * s.time * s.c_in, 19), w = random_floats(k * s.c_in * s.c_out, 20),
         b = random_floats(s.c_out, 21), dy = random_floats(s.batch * s.time * s.c_out, 22);
    std::vector<float> y(dy.size()), dx(x.size()), dw(w.size()), db(b.size());
    cpu::conv1d_same_forward(s, x.data(), w.data(), b.data(), y.data());
    cpu::conv1d_same_backward(s, x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data());
    const int64_t cols_n = cuda::conv1d_cols_size(s);
    Buf gx = up(x), gw = up(w), gb = up(b), gdy = up(dy), cols = out(cols_n), dcols = out(cols_n),
        gy = out(static_cast<int64_t>(y.size())), gdx = out(static_cast<int64_t>(x.size())),
        gdw = out(static_cast<int64_t>(w.size())), gdb = out(s.c_out);
    cuda::conv1d_same_forward(s, gx.p(), gw.p(), gb.p(), gy.p(), cols.p(), stream());
    cuda::conv1d_same_backward(s, gx.p(), gw.p(), gdy.p(), gdx.p(), gdw.p(), gdb.p(), cols.p(), dcols.p(),
                               stream());
    const std::string what = "conv1d k=" + std::to_string(k);
    expect_close(gy.get(), y, kTol, what + " y");
    expect_close(gdx.get(), dx, kTol, what + " dx");
    expect_close(gdw.get(), dw, kTol, what + " dw");
    expect_close(gdb.get(), db, kTol, what + " db");
  }
}

// --- dropout --------------------------------------------------------------------------------

TEST(CudaAutogradKernels, DropoutMaskBitExact) {
  HL_REQUIRE_CUDA();
  for (uint64_t offset : {uint64_t{0}, uint64_t{3}, uint64_t{1} << 33}) {
    for (float p : {0.2f, 0.5f, 0.0f}) {
      const int64_t n = 1237;
      std::vector<float> want(n);
      cpu::dropout_mask(uint64_t{42}, offset, p, want.data(), n);
      Buf got = out(n);
      cuda::dropout_mask(42, offset, p, got.p(), n, stream());
      expect_same_floats(got.get(), want, "dropout mask offset=" + std::to_string(offset) + " p=" + std::to_string(p));
    }
  }
}

// --- layer norm -----------------------------------------------------------------------------

TEST(CudaAutogradKernels, LayerNormBothKinds) {
  HL_REQUIRE_CUDA();
  for (auto kind : {cpu::LayerNormKind::Standard, cpu::LayerNormKind::VasnetStd}) {
    for (auto [rows, n] : {std::pair<int64_t, int64_t>{6, 9}, {300, 1024}, {1, 2}}) {
      auto x = random_floats(rows * n, 23, -3, 3), g = random_floats(n, 24), b = random_floats(n, 25),
           dy = random_floats(rows * n, 26);
      const float eps = kind == cpu::LayerNormKind::Standard ? 1e-5f : 1e-6f;
      std::vector<float> y(x.size()), dx(x.size()), dg(n), db(n);
      cpu::layer_norm_forward(kind, x.data(), g.data(), b.data(), y.data(), rows, n, eps);
      cpu::layer_norm_backward(kind, x.data(), g.data(), dy.data(), dx.data(), dg.data(), db.data(), rows, n, eps);
      Buf gx = up(x), gg = up(g), gb = up(b), gdy = up(dy), gy = out(rows * n), gdx = out(rows * n), gdg = out(n),
          gdb = out(n);
      Tensor ws = test::device_buffer<uint8_t>(static_cast<int64_t>(cuda::layer_norm_backward_workspace(rows)));
      cuda::layer_norm_forward(kind, gx.p(), gg.p(), gb.p(), gy.p(), rows, n, eps, stream());
      cuda::layer_norm_backward(kind, gx.p(), gg.p(), gdy.p(), gdx.p(), gdg.p(), gdb.p(), rows, n, eps, ws.raw(),
                                stream());
      const std::string what = std::string(kind == cpu::LayerNormKind::Standard ? "layer_norm " : "vasnet norm ") +
                               std::to_string(rows) + "x" + std::to_string(n);
      expect_close(gy.get(), y, kTol, what + " y");
      expect_close(gdx.get(), dx, kTol, what + " dx");
      expect_close(gdg.get(), dg, kTol, what + " dgain");
      expect_close(gdb.get(), db, kTol, what + " dbias");
    }
  }
}

// --- Adam -----------------------------------------------------------------------------------

TEST(CudaAutogradKernels, AdamTenStepsBitExact) {
  HL_REQUIRE_CUDA();
  for (float wd : {0.0f, 1e-5f}) {
    const int64_t n = 5003;
    cpu::AdamHyper h;
    h.weight_decay = wd;
    auto param = random_floats(n, 27), m(std::vector<float>(n, 0.0f)), v(std::vector<float>(n, 0.0f));
    Buf gp = up(param), gm = up(m), gv = up(v);
    for (int64_t step = 1; step <= 10; ++step) {
      auto grad = random_floats(n, 100 + static_cast<uint32_t>(step));
      cpu::adam_step_f32(h, step, param.data(), grad.data(), m.data(), v.data(), n);
      Buf gg = up(grad);
      cuda::adam_step_f32(h, step, gp.p(), gg.p(), gm.p(), gv.p(), n, stream());
    }
    const std::string what = "adam wd=" + std::to_string(wd);
    expect_same_floats(gp.get(), param, what + " param");
    expect_same_floats(gm.get(), m, what + " m");
    expect_same_floats(gv.get(), v, what + " v");
  }
}

}  // namespace
}  // namespace hl
