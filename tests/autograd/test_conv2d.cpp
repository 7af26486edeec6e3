// conv2d: the backward kernel in double against central finite differences of the
// forward kernel in double (every element of x, w and b, on shapes that take both the
// im2col path and the identity shortcut), a naive direct convolution in double as the
// forward reference, and the autograd wrapper's shape errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "engine/autograd/conv2d.h"
#include "kernels/cpu/conv2d.h"

namespace hl {
namespace {

using Vec = std::vector<double>;

Vec randn(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> d(0.0, 1.0);
  Vec v(n);
  for (double& x : v) x = d(gen);
  return v;
}

cpu::Conv2dShape make(int64_t batch, int64_t h, int64_t w, int64_t cin, int64_t cout, int64_t kh, int64_t kw,
                      int64_t sh, int64_t sw, int64_t top, int64_t bottom, int64_t left, int64_t right) {
  cpu::Conv2dShape s;
  s.batch = batch, s.height = h, s.width = w, s.c_in = cin, s.c_out = cout, s.kh = kh, s.kw = kw;
  s.stride_h = sh, s.stride_w = sw, s.pad_top = top, s.pad_bottom = bottom, s.pad_left = left, s.pad_right = right;
  return s;
}

// The definition in kernels/cpu/conv2d.h, written out loop by loop.
Vec direct_conv2d(const cpu::Conv2dShape& s, const Vec& x, const Vec& w, const Vec& b) {
  const int64_t oh = s.out_height(), ow = s.out_width();
  Vec y(static_cast<size_t>(s.batch * oh * ow * s.c_out));
  for (int64_t n = 0; n < s.batch; ++n)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j)
        for (int64_t o = 0; o < s.c_out; ++o) {
          double acc = b[o];
          for (int64_t p = 0; p < s.kh; ++p)
            for (int64_t q = 0; q < s.kw; ++q)
              for (int64_t c = 0; c < s.c_in; ++c) {
                const int64_t yy = i * s.stride_h + p - s.pad_top, xx = j * s.stride_w + q - s.pad_left;
                if (yy < 0 || yy >= s.height || xx < 0 || xx >= s.width) continue;
                acc += x[((n * s.height + yy) * s.width + xx) * s.c_in + c] * w[((p * s.kw + q) * s.c_in + c) * s.c_out + o];
              }
          y[((n * oh + i) * ow + j) * s.c_out + o] = acc;
        }
  return y;
}

const std::vector<cpu::Conv2dShape>& shapes() {
  static const std::vector<cpu::Conv2dShape> all = {
      make(2, 5, 6, 3, 2, 3, 3, 1, 1, 1, 1, 1, 1),  // 'same'
      make(2, 6, 6, 2, 3, 3, 3, 2, 2, 0, 1, 0, 1),  // TensorFlow 'same', stride 2
      make(1, 7, 5, 2, 2, 4, 2, 3, 2, 2, 0, 1, 3),  // rectangular, uneven
      make(2, 4, 3, 3, 2, 1, 1, 1, 1, 0, 0, 0, 0),  // pointwise: identity shortcut
      make(2, 5, 5, 2, 3, 1, 1, 2, 2, 0, 0, 0, 0),  // strided pointwise: im2col
      make(3, 6, 6, 1, 4, 6, 6, 1, 1, 0, 0, 0, 0),  // whole input (CAM-like): identity shortcut
      make(2, 4, 4, 2, 2, 4, 4, 1, 1, 1, 0, 0, 1),  // whole input but padded: im2col
  };
  return all;
}

std::string describe(const cpu::Conv2dShape& s) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "conv2d %lldx%lldx%lld k%lldx%lld s%lld,%lld pad %lld,%lld,%lld,%lld%s",
                (long long)s.height, (long long)s.width, (long long)s.c_in, (long long)s.kh, (long long)s.kw,
                (long long)s.stride_h, (long long)s.stride_w, (long long)s.pad_top, (long long)s.pad_bottom,
                (long long)s.pad_left, (long long)s.pad_right, s.im2col_is_identity() ? " (identity)" : "");
  return buf;
}

TEST(Conv2dKernel, ForwardMatchesDirectLoops) {
  for (const cpu::Conv2dShape& s : shapes()) {
    const Vec x = randn(s.batch * s.height * s.width * s.c_in, 1), w = randn(s.col_width() * s.c_out, 2),
              b = randn(s.c_out, 3);
    Vec y(direct_conv2d(s, x, w, b).size());
    cpu::conv2d_forward(s, x.data(), w.data(), b.data(), y.data());
    const Vec want = direct_conv2d(s, x, w, b);
    double max_diff = 0, max_ref = 0;
    for (size_t i = 0; i < y.size(); ++i) {
      max_diff = std::max(max_diff, std::fabs(y[i] - want[i]));
      max_ref = std::max(max_ref, std::fabs(want[i]));
    }
    EXPECT_LE(max_diff / max_ref, 1e-12) << describe(s);
  }
}

TEST(Conv2dKernel, BackwardMatchesFiniteDifferences) {
  double worst = 0;
  for (const cpu::Conv2dShape& s : shapes()) {
    std::vector<Vec> in = {randn(s.batch * s.height * s.width * s.c_in, 11), randn(s.col_width() * s.c_out, 12),
                           randn(s.c_out, 13)};
    const size_t ny = static_cast<size_t>(s.col_rows() * s.c_out);
    const Vec seed = randn(ny, 99);
    std::vector<Vec> analytic = {Vec(in[0].size()), Vec(in[1].size()), Vec(in[2].size())};
    cpu::conv2d_backward(s, in[0].data(), in[1].data(), seed.data(), analytic[0].data(), analytic[1].data(),
                         analytic[2].data());
    auto objective = [&]() {  // sum(seed * y)
      Vec y(ny);
      cpu::conv2d_forward(s, in[0].data(), in[1].data(), in[2].data(), y.data());
      double l = 0;
      for (size_t j = 0; j < ny; ++j) l += seed[j] * y[j];
      return l;
    };
    for (size_t k = 0; k < in.size(); ++k) {
      double max_diff = 0, max_ref = 0;
      for (size_t i = 0; i < in[k].size(); ++i) {
        const double x = in[k][i], h = 1e-6 * std::max(1.0, std::fabs(x));
        in[k][i] = x + h;
        const double up = objective();
        in[k][i] = x - h;
        const double down = objective();
        in[k][i] = x;
        const double numeric = (up - down) / (2 * h);
        max_diff = std::max(max_diff, std::fabs(analytic[k][i] - numeric));
        max_ref = std::max(max_ref, std::fabs(numeric));
      }
      const double err = max_diff / max_ref;
      worst = std::max(worst, err);
      EXPECT_LE(err, 1e-6) << describe(s) << ", input " << k;
    }
  }
  std::printf("conv2d backward vs finite differences: worst relative error %.3g\n", worst);
}

TEST(Conv2dAutograd, OutputShapeAndErrors) {
  ag::Variable x(Tensor::zeros(Shape{2, 14, 14, 1}, DType::F32));
  ag::Variable w(Tensor::zeros(Shape{14, 14, 1, 64}, DType::F32));
  ag::Variable b(Tensor::zeros(Shape{64}, DType::F32));
  EXPECT_EQ(ag::conv2d(x, w, b).shape(), (Shape{2, 1, 1, 64}));
  EXPECT_EQ(ag::conv2d(x, w, ag::Variable()).shape(), (Shape{2, 1, 1, 64}));
  ag::Variable w3(Tensor::zeros(Shape{3, 3, 1, 4}, DType::F32));
  EXPECT_EQ(ag::conv2d(x, w3, ag::Variable(), ag::Conv2dOptions::symmetric(2, 1)).shape(), (Shape{2, 7, 7, 4}));
  ag::Variable wrong_cin(Tensor::zeros(Shape{3, 3, 2, 4}, DType::F32));
  EXPECT_THROW(ag::conv2d(x, wrong_cin, ag::Variable()), Error);
  ag::Variable too_big(Tensor::zeros(Shape{15, 15, 1, 4}, DType::F32));
  EXPECT_THROW(ag::conv2d(x, too_big, ag::Variable()), Error);
  EXPECT_THROW(ag::conv2d(x, w3, ag::Variable(), ag::Conv2dOptions::symmetric(0, 0)), Error);
  EXPECT_THROW(ag::conv2d(x, w, ag::Variable(Tensor::zeros(Shape{63}, DType::F32))), Error);
}

}  // namespace
}  // namespace hl
