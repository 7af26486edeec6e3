// Rows: ag::softmax along any dimension (a dimension of size 1, inner strides) and the
// two layer normalisations (PyTorch's and VASNet's), with an eps large enough that a
// misplaced eps shows.
#include <algorithm>
#include <cmath>
#include <string>

#include "engine/autograd/norm.h"
#include "engine/autograd/softmax.h"
#include "kernels/cpu/norm.h"
#include "kernels/cpu/softmax.h"
#include "ops/rows.h"

namespace hl::optable {

namespace {

// y[o, j, i] = exp(x[o, j, i]) / sum_j' exp(x[o, j', i]).
Vec reference_softmax(const Vec& x, const Split& s) {
  Vec y(x.size());
  for (int64_t o = 0; o < s.outer; ++o)
    for (int64_t i = 0; i < s.inner; ++i) {
      auto at = [&](int64_t j) { return (o * s.n + j) * s.inner + i; };
      double top = x[at(0)], sum = 0;
      for (int64_t j = 1; j < s.n; ++j) top = std::max(top, x[at(j)]);
      for (int64_t j = 0; j < s.n; ++j) sum += std::exp(x[at(j)] - top);
      for (int64_t j = 0; j < s.n; ++j) y[at(j)] = std::exp(x[at(j)] - top) / sum;
    }
  return y;
}

OpRow softmax_row(std::vector<int64_t> dims, int dim, int64_t fd_elements = 400) {
  const Split s = split(dims, dim);
  OpRow r;
  r.name = "softmax_" + dims_name(dims) + "_dim" + (dim < 0 ? "m" + std::to_string(-dim) : std::to_string(dim));
  r.inputs = {{dims, true, Fill::normal(2.0)}};
  r.op = [dim](const std::vector<ag::Variable>& v) { return ag::softmax(v[0], dim); };
  r.reference = [s](const std::vector<Vec>& v) { return reference_softmax(v[0], s); };
  r.kernel_f64 = [s](const std::vector<Vec>& v, const Vec* dy, std::vector<Vec>* g) {
    Vec y(v[0].size());
    cpu::softmax_forward(v[0].data(), y.data(), s.outer, s.n, s.inner);
    if (dy) {
      *g = {Vec(v[0].size())};
      cpu::softmax_backward(y.data(), dy->data(), (*g)[0].data(), s.outer, s.n, s.inner);
    }
    return y;
  };
  r.fd_elements = fd_elements;
  return r;
}

// Standard: g (x - mean) / sqrt(var + eps) + b, population variance.
// VasnetStd: g (x - mean) / (std + eps) + b, unbiased standard deviation.
Vec reference_layer_norm(cpu::LayerNormKind kind, const Vec& x, const Vec& g, const Vec& b, int64_t n, double eps) {
  Vec y(x.size());
  const auto rows = static_cast<int64_t>(x.size()) / n;
  for (int64_t r = 0; r < rows; ++r) {
    const double* xr = x.data() + r * n;
    double mean = 0, ss = 0;
    for (int64_t i = 0; i < n; ++i) mean += xr[i];
    mean /= static_cast<double>(n);
    for (int64_t i = 0; i < n; ++i) ss += (xr[i] - mean) * (xr[i] - mean);
    const double denominator = kind == cpu::LayerNormKind::Standard ? std::sqrt(ss / static_cast<double>(n) + eps)
                                                                    : std::sqrt(ss / static_cast<double>(n - 1)) + eps;
    for (int64_t i = 0; i < n; ++i) y[r * n + i] = g[i] * (xr[i] - mean) / denominator + b[i];
  }
  return y;
}

OpRow layer_norm_row(cpu::LayerNormKind kind, std::vector<int64_t> dims, float eps, int64_t fd_elements = 400,
                     double x_std = 2.0) {
  const bool standard = kind == cpu::LayerNormKind::Standard;
  const int64_t n = dims.back(), rows = numel(dims) / n;
  OpRow r;
  r.name = std::string(standard ? "layer_norm_" : "layer_norm_vasnet_") + dims_name(dims) + "_eps" +
           std::to_string(static_cast<int>(std::round(-std::log10(eps))));
  r.inputs = {{dims, true, Fill::normal(x_std)}, {{n}}, {{n}}};
  r.op = [standard, eps](const std::vector<ag::Variable>& v) {
    return standard ? ag::layer_norm(v[0], v[1], v[2], eps) : ag::layer_norm_vasnet(v[0], v[1], v[2], eps);
  };
  const double e = eps;  // the f32 op's eps, exactly
  r.reference = [=](const std::vector<Vec>& v) { return reference_layer_norm(kind, v[0], v[1], v[2], n, e); };
  r.kernel_f64 = [=](const std::vector<Vec>& v, const Vec* dy, std::vector<Vec>* g) {
    Vec y(v[0].size());
    cpu::layer_norm_forward(kind, v[0].data(), v[1].data(), v[2].data(), y.data(), rows, n, e);
    if (dy) {
      *g = {Vec(v[0].size()), Vec(n), Vec(n)};
      cpu::layer_norm_backward(kind, v[0].data(), v[1].data(), dy->data(), (*g)[0].data(), (*g)[1].data(),
                               (*g)[2].data(), rows, n, e);
    }
    return y;
  };
  r.fd_elements = fd_elements;
  return r;
}

}  // namespace

void add_norm_rows(std::vector<OpRow>& rows) {
  rows.push_back(softmax_row({2, 5, 3}, 1));
  rows.push_back(softmax_row({1, 7}, -1));
  rows.push_back(softmax_row({4, 1, 2}, 1));  // one element per softmax: y = 1, no gradient
  rows.push_back(softmax_row({3, 4}, 0));
  rows.push_back(softmax_row({3, 5, 7}, 1));
  rows.push_back(softmax_row({20, 150}, 1));
  rows.push_back(softmax_row({2, 33, 65}, 1));
  rows.push_back(softmax_row({4, 150, 150}, 2, 48));  // attention-sized rows

  using K = cpu::LayerNormKind;
  for (K kind : {K::Standard, K::VasnetStd}) {
    rows.push_back(layer_norm_row(kind, {3, 6}, 1e-3f));
    // VASNet's smallest n (unbiased std). Two values normalise to about +-1 whatever they
    // are, so x is drawn small enough (var ~ eps) that the gradient is not all rounding.
    rows.push_back(layer_norm_row(kind, {1, 2}, 1e-3f, 400, 0.05));
    rows.push_back(layer_norm_row(kind, {2, 3, 5}, 1e-3f));
    rows.push_back(layer_norm_row(kind, {6, 9}, kind == K::Standard ? 1e-5f : 1e-6f));
    rows.push_back(layer_norm_row(kind, {300, 1024}, kind == K::Standard ? 1e-5f : 1e-6f, 48));
  }
  rows.push_back(layer_norm_row(K::Standard, {4, 1}, 1e-5f));  // n = 1: y = b
}

}  // namespace hl::optable
