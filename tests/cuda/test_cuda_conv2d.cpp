// The CUDA conv2d (kernels/cuda/conv2d.h) against the CPU kernel (kernels/cpu/conv2d.cpp,
// the specification) on fresh random inputs, every output and scratch buffer poisoned
// with NaN first (an element a kernel forgets to write stays NaN and fails), and the
// tape's refusal of mixed devices. (ag::conv2d on CUDA against the CPU through the tape,
// the CAM branch and strided, padded and bias-free shapes: op-table rows conv2d_*,
// tests/ops/test_op_table_cuda.cpp.)
// Shapes: the highlight model's CAM branch (14x14 input, 64 filters 14x14 valid: the
// identity shortcut without im2col), strided and asymmetrically padded convolutions
// (im2col + col2im), a stride that leaves input rows no window reads (their dx must be
// 0), pointwise with and without stride, and a padded whole-input kernel.
// Tolerance (DESIGN section 6): max|a - b| / max|b| <= 1e-5 (cuBLAS and OpenBLAS sum
// the products in different orders).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "cuda/cuda_test_util.h"
#include "engine/autograd/conv2d.h"
#include "kernels/cpu/conv2d.h"
#include "kernels/cuda/conv2d.h"
#include "support/test_support.h"

namespace hl {
namespace {

using test::expect_close;
using test::random_floats;

constexpr double kTol = 1e-5;
const Device kCuda = Device::cuda(0);

cpu::Conv2dShape make(int64_t batch, int64_t h, int64_t w, int64_t cin, int64_t cout, int64_t kh, int64_t kw,
                      int64_t sh, int64_t sw, int64_t top, int64_t bottom, int64_t left, int64_t right) {
  cpu::Conv2dShape s;
  s.batch = batch, s.height = h, s.width = w, s.c_in = cin, s.c_out = cout, s.kh = kh, s.kw = kw;
  s.stride_h = sh, s.stride_w = sw, s.pad_top = top, s.pad_bottom = bottom, s.pad_left = left, s.pad_right = right;
  return s;
}

std::vector<cpu::Conv2dShape> shapes() {
  return {
      make(150, 14, 14, 1, 64, 14, 14, 1, 1, 0, 0, 0, 0),  // CAM branch: identity shortcut
      make(3, 9, 7, 3, 5, 3, 2, 2, 1, 1, 2, 0, 1),         // strided, asymmetric padding
      make(2, 12, 12, 4, 8, 3, 3, 2, 2, 0, 1, 0, 1),       // TensorFlow 'same', stride 2
      make(2, 10, 11, 2, 3, 3, 3, 3, 3, 0, 0, 0, 0),       // stride 3: rows/cols no window reads
      make(2, 8, 8, 3, 4, 5, 5, 1, 1, 2, 2, 2, 2),         // 'same' 5x5, several windows per element
      make(2, 4, 3, 3, 2, 1, 1, 1, 1, 0, 0, 0, 0),         // pointwise: identity shortcut
      make(2, 5, 5, 2, 3, 1, 1, 2, 2, 0, 0, 0, 0),         // strided pointwise: im2col
      make(2, 4, 4, 2, 2, 4, 4, 1, 1, 1, 0, 0, 1),         // whole input but padded: im2col
  };
}

std::string describe(const cpu::Conv2dShape& s) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "conv2d n%lld %lldx%lldx%lld->%lld k%lldx%lld s%lld,%lld pad %lld,%lld,%lld,%lld%s",
                (long long)s.batch, (long long)s.height, (long long)s.width, (long long)s.c_in, (long long)s.c_out,
                (long long)s.kh, (long long)s.kw, (long long)s.stride_h, (long long)s.stride_w, (long long)s.pad_top,
                (long long)s.pad_bottom, (long long)s.pad_left, (long long)s.pad_right,
                s.im2col_is_identity() ? " (identity)" : "");
  return buf;
}

// A device copy of host data, and a NaN-poisoned device buffer of n floats (null when n is 0).
struct Buf {
  Tensor t;
  int64_t n = 0;
  float* p() { return n > 0 ? static_cast<float*>(t.raw()) : nullptr; }
  std::vector<float> get() const { return test::download<float>(t, n); }
};
Buf up(const std::vector<float>& v) { return {test::upload(v), static_cast<int64_t>(v.size())}; }
Buf out(int64_t n) {
  Buf b{test::device_buffer<float>(n > 0 ? n : 1), n};
  test::poison(b.t);
  return b;
}
cudaStream_t stream() { return test::cuda_stream(); }

TEST(CudaConv2dKernel, ForwardBackwardMatchCpu) {
  HL_REQUIRE_CUDA();
  uint32_t seed = 100;
  for (const cpu::Conv2dShape& s : shapes()) {
    const std::string what = describe(s);
    const int64_t nx = s.batch * s.height * s.width * s.c_in, nw = s.kh * s.kw * s.c_in * s.c_out,
                  ny = s.batch * s.out_height() * s.out_width() * s.c_out;
    auto x = random_floats(nx, ++seed), w = random_floats(nw, ++seed), b = random_floats(s.c_out, ++seed),
         dy = random_floats(ny, ++seed);
    std::vector<float> y(ny), dx(nx), dw(nw), db(s.c_out);
    cpu::conv2d_forward(s, x.data(), w.data(), b.data(), y.data());
    cpu::conv2d_backward(s, x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data());

    const int64_t cols_n = cuda::conv2d_cols_size(s);
    EXPECT_EQ(cols_n == 0, s.im2col_is_identity()) << what;
    Buf gx = up(x), gw = up(w), gb = up(b), gdy = up(dy), cols = out(cols_n), dcols = out(cols_n), gy = out(ny),
        gdx = out(nx), gdw = out(nw), gdb = out(s.c_out);
    cuda::conv2d_forward(s, gx.p(), gw.p(), gb.p(), gy.p(), cols.p(), stream());
    expect_close(gy.get(), y, kTol, what + " y");
    test::poison(cols.t);  // the backward pass must fill the columns itself
    cuda::conv2d_backward(s, gx.p(), gw.p(), gdy.p(), gdx.p(), gdw.p(), gdb.p(), cols.p(), dcols.p(), stream());
    expect_close(gdx.get(), dx, kTol, what + " dx");
    expect_close(gdw.get(), dw, kTol, what + " dw");
    expect_close(gdb.get(), db, kTol, what + " db");

    // No bias; and each gradient alone, with only the scratch it needs.
    std::vector<float> y_nobias(ny);
    cpu::conv2d_forward<float>(s, x.data(), w.data(), nullptr, y_nobias.data());
    Buf gy2 = out(ny), cols2 = out(cols_n);
    cuda::conv2d_forward(s, gx.p(), gw.p(), nullptr, gy2.p(), cols2.p(), stream());
    expect_close(gy2.get(), y_nobias, kTol, what + " y without bias");
    Buf gdx_only = out(nx), dcols_only = out(cols_n);
    cuda::conv2d_backward(s, gx.p(), gw.p(), gdy.p(), gdx_only.p(), nullptr, nullptr, nullptr, dcols_only.p(),
                          stream());
    expect_close(gdx_only.get(), dx, kTol, what + " dx alone");
    Buf gdw_only = out(nw), cols_only = out(cols_n);
    cuda::conv2d_backward(s, gx.p(), gw.p(), gdy.p(), nullptr, gdw_only.p(), nullptr, cols_only.p(), nullptr,
                          stream());
    expect_close(gdw_only.get(), dw, kTol, what + " dw alone");
  }
}

// --- through the tape -----------------------------------------------------------------------

Tensor rand_tensor(const Shape& shape, uint32_t seed) {
  return Tensor::from_vector(shape, random_floats(shape.numel(), seed));
}

TEST(CudaConv2dTape, MixedDevicesAreRejected) {
  HL_REQUIRE_CUDA();
  ag::Variable x(rand_tensor(Shape{1, 4, 4, 1}, 1), true), w(rand_tensor(Shape{2, 2, 1, 3}, 2).to(kCuda), true);
  EXPECT_THROW(ag::conv2d(x, w, ag::Variable()), Error);
}

}  // namespace
}  // namespace hl
