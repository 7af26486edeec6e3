// The backward kernels against central finite differences of the forward kernels, both
// in double (the CPU kernels are templates instantiated for float and double; training
// uses float, these checks double, so rounding does not hide a wrong formula).
// Objective L = sum(seed * f(inputs)) with a random seed; dL/dx by the kernel must match
// (L(x + h) - L(x - h)) / 2h for every element of every input within 1e-6 relative.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <random>

#include "kernels/cpu/act_grad.h"
#include "kernels/cpu/concat.h"
#include "kernels/cpu/conv1d.h"
#include "kernels/cpu/gemm_f64.h"
#include "kernels/cpu/linear.h"
#include "kernels/cpu/loss.h"
#include "kernels/cpu/lstm.h"
#include "kernels/cpu/norm.h"
#include "kernels/cpu/pool.h"
#include "kernels/cpu/softmax.h"

namespace hl {
namespace {

using Vec = std::vector<double>;
using Forward = std::function<Vec(const std::vector<Vec>&)>;
using Backward = std::function<std::vector<Vec>(const std::vector<Vec>&, const Vec& seed)>;

Vec randn(size_t n, uint32_t seed, double scale = 1.0) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> d(0.0, scale);
  Vec v(n);
  for (double& x : v) x = d(gen);
  return v;
}

// Returns the worst relative error over all inputs (and EXPECTs it within tol).
double check_gradients(const std::string& what, std::vector<Vec> inputs, const Forward& f, const Backward& b,
                       double tol = 1e-6) {
  const Vec y0 = f(inputs);
  const Vec seed = randn(y0.size(), 99);
  const std::vector<Vec> analytic = b(inputs, seed);
  EXPECT_EQ(analytic.size(), inputs.size()) << what;
  double worst = 0;
  for (size_t k = 0; k < inputs.size(); ++k) {
    if (analytic[k].empty()) continue;  // not differentiated (labels)
    Vec numeric(inputs[k].size());
    for (size_t i = 0; i < inputs[k].size(); ++i) {
      const double x = inputs[k][i], h = 1e-6 * std::max(1.0, std::fabs(x));
      auto objective = [&](double v) {
        inputs[k][i] = v;
        const Vec y = f(inputs);
        double l = 0;
        for (size_t j = 0; j < y.size(); ++j) l += seed[j] * y[j];
        return l;
      };
      numeric[i] = (objective(x + h) - objective(x - h)) / (2 * h);
      inputs[k][i] = x;
    }
    double max_diff = 0, max_ref = 0;
    size_t at = 0;
    for (size_t i = 0; i < numeric.size(); ++i) {
      const double d = std::fabs(analytic[k][i] - numeric[i]);
      if (d > max_diff) max_diff = d, at = i;
      max_ref = std::max(max_ref, std::fabs(numeric[i]));
    }
    const double err = max_ref > 0 ? max_diff / max_ref : max_diff;
    worst = std::max(worst, err);
    std::printf("%s, input %zu: relative error %.3g\n", what.c_str(), k, err);
    EXPECT_LE(err, tol) << what << ", input " << k << ": relative error " << err << "; worst element [" << at
                        << "]: analytic " << analytic[k][at] << ", finite difference " << numeric[at];
  }
  return worst;
}

TEST(GradFiniteDifference, Activations) {
  for (auto kind : {cpu::Activation::Relu, cpu::Activation::Sigmoid, cpu::Activation::Tanh}) {
    const size_t n = 40;
    auto f = [&](const std::vector<Vec>& in) {
      Vec y(n);
      cpu::activation_forward(kind, in[0].data(), y.data(), n);
      return y;
    };
    auto b = [&](const std::vector<Vec>& in, const Vec& dy) {
      Vec y = f(in), dx(n);
      cpu::activation_backward(kind, in[0].data(), y.data(), dy.data(), dx.data(), n);
      return std::vector<Vec>{dx};
    };
    check_gradients("activation " + std::to_string(static_cast<int>(kind)), {randn(n, 1, 2.0)}, f, b);
  }
}

TEST(GradFiniteDifference, SumAndMeanBroadcast) {
  const int64_t outer = 3, n = 4, inner = 5;
  for (bool is_mean : {false, true}) {
    auto f = [&](const std::vector<Vec>& in) {  // the reduction written out, in double
      Vec y(outer * inner, 0.0);
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t j = 0; j < n; ++j)
          for (int64_t i = 0; i < inner; ++i) y[o * inner + i] += in[0][(o * n + j) * inner + i] / (is_mean ? n : 1);
      return y;
    };
    auto b = [&](const std::vector<Vec>&, const Vec& dy) {
      Vec dx(outer * n * inner);
      cpu::broadcast_middle(dy.data(), dx.data(), outer, n, inner, is_mean ? 1.0 / n : 1.0);
      return std::vector<Vec>{dx};
    };
    check_gradients(is_mean ? "mean" : "sum", {randn(outer * n * inner, 2)}, f, b);
  }
}

TEST(GradFiniteDifference, Softmax) {
  for (auto [outer, n, inner] : {std::tuple<int64_t, int64_t, int64_t>{2, 5, 3}, {1, 7, 1}, {4, 1, 2}}) {
    const int64_t total = outer * n * inner;
    auto f = [&](const std::vector<Vec>& in) {
      Vec y(total);
      cpu::softmax_forward(in[0].data(), y.data(), outer, n, inner);
      return y;
    };
    auto b = [&](const std::vector<Vec>& in, const Vec& dy) {
      Vec y = f(in), dx(total);
      cpu::softmax_backward(y.data(), dy.data(), dx.data(), outer, n, inner);
      return std::vector<Vec>{dx};
    };
    check_gradients("softmax", {randn(total, 3, 2.0)}, f, b);
  }
}

TEST(GradFiniteDifference, ConcatAndNarrowSlabs) {
  // concat of [2, 3, 4] and [2, 1, 4] along the middle; its backward narrows dy.
  const int64_t outer = 2, inner = 4, n0 = 3, n1 = 1, total = n0 + n1;
  auto f = [&](const std::vector<Vec>& in) {
    Vec y(outer * total * inner);
    cpu::copy_slab(in[0].data(), n0, 0, y.data(), total, 0, outer, n0, inner, sizeof(double));
    cpu::copy_slab(in[1].data(), n1, 0, y.data(), total, n0, outer, n1, inner, sizeof(double));
    return y;
  };
  auto b = [&](const std::vector<Vec>&, const Vec& dy) {
    Vec d0(outer * n0 * inner), d1(outer * n1 * inner);
    cpu::copy_slab(dy.data(), total, 0, d0.data(), n0, 0, outer, n0, inner, sizeof(double));
    cpu::copy_slab(dy.data(), total, n0, d1.data(), n1, 0, outer, n1, inner, sizeof(double));
    return std::vector<Vec>{d0, d1};
  };
  check_gradients("concat", {randn(outer * n0 * inner, 4), randn(outer * n1 * inner, 5)}, f, b);
}

TEST(GradFiniteDifference, LinearWithBias) {
  const int64_t rows = 5, in = 4, out = 3;
  auto f = [&](const std::vector<Vec>& v) {
    Vec y(rows * out);
    cpu::linear_forward(v[0].data(), v[1].data(), v[2].data(), y.data(), rows, in, out);
    return y;
  };
  auto b = [&](const std::vector<Vec>& v, const Vec& dy) {
    Vec dx(rows * in), dw(in * out), db(out);
    cpu::linear_backward(v[0].data(), v[1].data(), dy.data(), dx.data(), dw.data(), db.data(), rows, in, out);
    return std::vector<Vec>{dx, dw, db};
  };
  check_gradients("linear", {randn(rows * in, 6), randn(in * out, 7), randn(out, 8)}, f, b);
}

TEST(GradFiniteDifference, BatchedMatmulAllTransposes) {
  for (bool shared_b : {false, true})
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        GemmShape s;
        s.batch = 3, s.m = 4, s.n = 2, s.k = 5, s.trans_a = ta, s.trans_b = tb;
        s.stride_a = s.m * s.k, s.stride_b = shared_b ? 0 : s.k * s.n, s.stride_c = s.m * s.n;
        auto f = [&](const std::vector<Vec>& v) {
          Vec c(s.batch * s.m * s.n);
          cpu::gemm(s, v[0].data(), v[1].data(), c.data());
          return c;
        };
        auto b = [&](const std::vector<Vec>& v, const Vec& dc) {
          Vec da(v[0].size()), db(v[1].size());
          cpu::matmul_backward(s, v[0].data(), v[1].data(), dc.data(), da.data(), db.data());
          return std::vector<Vec>{da, db};
        };
        const size_t nb = static_cast<size_t>((shared_b ? 1 : s.batch) * s.k * s.n);
        check_gradients("matmul ta=" + std::to_string(ta) + " tb=" + std::to_string(tb) + " shared=" + std::to_string(shared_b),
                        {randn(s.batch * s.m * s.k, 9), randn(nb, 10)}, f, b);
      }
}

TEST(GradFiniteDifference, Losses) {
  const int64_t n = 17;
  Vec labels = randn(n, 11);
  auto loss_case = [&](const char* name, auto forward, auto backward) {
    auto f = [&](const std::vector<Vec>& v) { return Vec{forward(v[0].data(), labels.data(), n)}; };
    auto b = [&](const std::vector<Vec>& v, const Vec& dl) {
      Vec dp(n);
      backward(v[0].data(), labels.data(), n, dl[0], dp.data());
      return std::vector<Vec>{dp};
    };
    check_gradients(name, {randn(n, 12)}, f, b);
  };
  loss_case("mse", cpu::mse_forward<double>, cpu::mse_backward<double>);
  loss_case("ccc", cpu::ccc_loss_forward<double>, cpu::ccc_loss_backward<double>);
  auto f = [&](const std::vector<Vec>& v) { return Vec{cpu::margin_ranking_forward(v[0].data(), v[1].data(), n, 1.0)}; };
  auto b = [&](const std::vector<Vec>& v, const Vec& dl) {
    Vec dh(n), dlo(n);
    cpu::margin_ranking_backward(v[0].data(), v[1].data(), n, 1.0, dl[0], dh.data(), dlo.data());
    return std::vector<Vec>{dh, dlo};
  };
  check_gradients("margin ranking", {randn(n, 13), randn(n, 14)}, f, b);
}

TEST(GradFiniteDifference, Conv1dSameEveryKernelSize) {
  for (int64_t k = 1; k <= 5; ++k) {
    cpu::Conv1dShape s;
    s.batch = 2, s.time = 6, s.c_in = 3, s.c_out = 2, s.k = k;
    auto f = [&](const std::vector<Vec>& v) {
      Vec y(s.batch * s.time * s.c_out);
      cpu::conv1d_same_forward(s, v[0].data(), v[1].data(), v[2].data(), y.data());
      return y;
    };
    auto b = [&](const std::vector<Vec>& v, const Vec& dy) {
      Vec dx(v[0].size()), dw(v[1].size()), db(v[2].size());
      cpu::conv1d_same_backward(s, v[0].data(), v[1].data(), dy.data(), dx.data(), dw.data(), db.data());
      return std::vector<Vec>{dx, dw, db};
    };
    check_gradients("conv1d k=" + std::to_string(k),
                    {randn(s.batch * s.time * s.c_in, 15), randn(k * s.c_in * s.c_out, 16), randn(s.c_out, 17)}, f, b);
  }
}

TEST(GradFiniteDifference, MaxPool) {
  const int64_t batch = 2, time = 7, channels = 3;
  auto f = [&](const std::vector<Vec>& v) {
    Vec y(batch * (time / 2) * channels);
    cpu::maxpool1d_2_forward(v[0].data(), y.data(), batch, time, channels);
    return y;
  };
  auto b = [&](const std::vector<Vec>& v, const Vec& dy) {
    Vec dx(v[0].size());
    cpu::maxpool1d_2_backward(v[0].data(), dy.data(), dx.data(), batch, time, channels);
    return std::vector<Vec>{dx};
  };
  check_gradients("maxpool", {randn(batch * time * channels, 18)}, f, b);
}

TEST(GradFiniteDifference, LayerNormBothKinds) {
  for (auto kind : {cpu::LayerNormKind::Standard, cpu::LayerNormKind::VasnetStd}) {
    const int64_t rows = 3, n = 6;
    const double eps = 1e-3;  // large enough that a misplaced eps shows
    auto f = [&](const std::vector<Vec>& v) {
      Vec y(rows * n);
      cpu::layer_norm_forward(kind, v[0].data(), v[1].data(), v[2].data(), y.data(), rows, n, eps);
      return y;
    };
    auto b = [&](const std::vector<Vec>& v, const Vec& dy) {
      Vec dx(rows * n), dg(n), db(n);
      cpu::layer_norm_backward(kind, v[0].data(), v[1].data(), dy.data(), dx.data(), dg.data(), db.data(), rows, n, eps);
      return std::vector<Vec>{dx, dg, db};
    };
    check_gradients(kind == cpu::LayerNormKind::Standard ? "layer_norm" : "layer_norm_vasnet",
                    {randn(rows * n, 19, 2.0), randn(n, 20), randn(n, 21)}, f, b);
  }
}

}  // namespace
}  // namespace hl

namespace hl {
namespace {

TEST(GradFiniteDifference, LstmBothDirectionsWithRecurrentMask) {
  for (bool reverse : {false, true})
    for (bool masked : {false, true}) {
      cpu::LstmShape s;
      s.batch = 2, s.time = 4, s.input = 3, s.hidden = 3, s.reverse = reverse;
      const int64_t G = 4 * s.hidden;
      Vec r(s.batch * s.hidden);
      for (size_t i = 0; i < r.size(); ++i) r[i] = (i % 3 == 1) ? 0.0 : 1.0 / 0.7;
      const double* rp = masked ? r.data() : nullptr;
      auto run = [&](const std::vector<Vec>& v, Vec& hs, Vec& cs, Vec& gates) {
        hs.assign(s.batch * s.time * s.hidden, 0), cs = hs, gates.assign(s.batch * s.time * G, 0);
        cpu::lstm_forward(s, v[0].data(), v[1].data(), v[2].data(), v[3].data(), rp, hs.data(), cs.data(), gates.data());
      };
      auto f = [&](const std::vector<Vec>& v) {
        Vec hs, cs, gates;
        run(v, hs, cs, gates);
        return hs;
      };
      auto b = [&](const std::vector<Vec>& v, const Vec& dhs) {
        Vec hs, cs, gates;
        run(v, hs, cs, gates);
        Vec dx(v[0].size()), dw(v[1].size()), du(v[2].size()), db(v[3].size());
        cpu::lstm_backward(s, v[0].data(), v[1].data(), v[2].data(), rp, hs.data(), cs.data(), gates.data(), dhs.data(),
                           dx.data(), dw.data(), du.data(), db.data());
        return std::vector<Vec>{dx, dw, du, db};
      };
      check_gradients(std::string("lstm reverse=") + (reverse ? "1" : "0") + " masked=" + (masked ? "1" : "0"),
                      {randn(s.batch * s.time * s.input, 22), randn(s.input * G, 23, 0.5), randn(s.hidden * G, 24, 0.5),
                       randn(G, 25, 0.5)},
                      f, b);
    }
}

}  // namespace
}  // namespace hl
