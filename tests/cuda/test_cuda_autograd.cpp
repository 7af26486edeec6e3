// The training ops' CUDA kernels against the CPU kernels, the specification, called
// through their raw pointer interfaces, where the op table (tests/ops, which compares
// every autograd op on CUDA with the CPU on NaN-poisoned outputs) cannot check as much:
// bit-exact activation backward from the same forward output (ReLU at 0 included), slab
// copies that must leave the rows outside the slab untouched, max pooling with ties,
// conv1d with its column buffers poisoned too, dropout masks at stream offsets past
// 2^32, and Adam (not an autograd op). Every output is poisoned with NaN first (an
// element a kernel forgets to write stays NaN and fails the comparison).
// Tolerance (DESIGN section 6): max|a - b| / max|b| <= 1e-5 where the summation order
// differs (GEMMs); bit-exact where the kernel is the CPU's arithmetic in the CPU's order.
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
#include "kernels/cpu/optim.h"
#include "kernels/cpu/pool.h"
#include "kernels/cuda/act_grad.h"
#include "kernels/cuda/concat.h"
#include "kernels/cuda/conv1d.h"
#include "kernels/cuda/dropout.h"
#include "kernels/cuda/optim.h"
#include "kernels/cuda/pool.h"
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

// --- activations ------------------------------------------------------------------------------

TEST(CudaAutogradKernels, ActivationBackwardBitExact) {
  HL_REQUIRE_CUDA();
  const int64_t n = 10007;
  auto x = random_floats(n, 1, -6, 6), dy = random_floats(n, 2);
  x[0] = 0.0f;  // relu'(0) = 0
  for (auto kind : {cpu::Activation::Relu, cpu::Activation::Sigmoid, cpu::Activation::Tanh}) {
    std::vector<float> y(n), want(n);
    cpu::activation_forward(kind, x.data(), y.data(), n);
    cpu::activation_backward(kind, y.data(), dy.data(), want.data(), n);
    Buf dyv = up(y), ddy = up(dy), got = out(n);
    cuda::activation_backward(kind, dyv.p(), ddy.p(), got.p(), n, stream());
    expect_same_floats(got.get(), want, "activation backward " + std::to_string(static_cast<int>(kind)));
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
