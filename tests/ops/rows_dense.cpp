// Rows: ag::linear (Keras layout, with and without bias, leading dimensions) and
// ag::matmul (every transpose, batched and shared 2-D b).
#include <string>

#include "engine/autograd/linear.h"
#include "kernels/cpu/gemm_f64.h"
#include "kernels/cpu/linear.h"
#include "ops/rows.h"

namespace hl::optable {

namespace {

// y [rows, out] = x [rows, in] w [in, out] + b [out].
Vec reference_linear(const Vec& x, const Vec& w, const Vec* b, int64_t rows, int64_t in, int64_t out) {
  Vec y(static_cast<size_t>(rows * out));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double acc = b ? (*b)[o] : 0.0;
      for (int64_t i = 0; i < in; ++i) acc += x[r * in + i] * w[i * out + o];
      y[r * out + o] = acc;
    }
  return y;
}

// x_dims [..., in] -> out features.
OpRow linear_row(std::vector<int64_t> x_dims, int64_t out, bool bias, int64_t fd_elements = 400) {
  const int64_t in = x_dims.back(), rows = numel(x_dims) / in;
  OpRow r;
  r.name = "linear_" + dims_name(x_dims) + "_to_" + std::to_string(out) + (bias ? "_bias" : "");
  r.inputs = {{x_dims}, {{in, out}, true, Fill::normal(0.5)}};
  if (bias) r.inputs.push_back({{out}});
  r.op = [bias](const std::vector<ag::Variable>& v) { return ag::linear(v[0], v[1], bias ? v[2] : ag::Variable()); };
  r.reference = [=](const std::vector<Vec>& v) { return reference_linear(v[0], v[1], bias ? &v[2] : nullptr, rows, in, out); };
  r.kernel_f64 = [=](const std::vector<Vec>& v, const Vec* dy, std::vector<Vec>* g) {
    Vec y(static_cast<size_t>(rows * out));
    cpu::linear_forward(v[0].data(), v[1].data(), bias ? v[2].data() : nullptr, y.data(), rows, in, out);
    if (dy) {
      *g = {Vec(v[0].size()), Vec(v[1].size())};
      if (bias) g->push_back(Vec(out));
      cpu::linear_backward(v[0].data(), v[1].data(), dy->data(), (*g)[0].data(), (*g)[1].data(),
                           bias ? (*g)[2].data() : nullptr, rows, in, out);
    }
    return y;
  };
  r.fd_elements = fd_elements;
  return r;
}

struct MatmulCase {
  int64_t batch, m, k, n;
  bool trans_a, trans_b, shared_b;  // shared_b: b is 2-D, the same for every batch entry
};

GemmShape gemm_shape(const MatmulCase& c) {
  GemmShape s;
  s.batch = c.batch, s.m = c.m, s.n = c.n, s.k = c.k, s.trans_a = c.trans_a, s.trans_b = c.trans_b;
  s.stride_a = c.m * c.k, s.stride_b = c.shared_b ? 0 : c.k * c.n, s.stride_c = c.m * c.n;
  return s;
}

// c [batch, m, n] = op(a) op(b), op(a)[i, p] = a[p, i] when transposed.
Vec reference_matmul(const MatmulCase& c, const Vec& a, const Vec& b) {
  Vec y(static_cast<size_t>(c.batch * c.m * c.n));
  for (int64_t t = 0; t < c.batch; ++t) {
    const double* at = a.data() + t * c.m * c.k;
    const double* bt = b.data() + (c.shared_b ? 0 : t * c.k * c.n);
    for (int64_t i = 0; i < c.m; ++i)
      for (int64_t j = 0; j < c.n; ++j) {
        double acc = 0;
        for (int64_t p = 0; p < c.k; ++p)
          acc += (c.trans_a ? at[p * c.m + i] : at[i * c.k + p]) * (c.trans_b ? bt[j * c.k + p] : bt[p * c.n + j]);
        y[(t * c.m + i) * c.n + j] = acc;
      }
  }
  return y;
}

OpRow matmul_row(const MatmulCase& c, bool two_d_a = false) {
  std::vector<int64_t> a_dims = c.trans_a ? std::vector<int64_t>{c.k, c.m} : std::vector<int64_t>{c.m, c.k};
  std::vector<int64_t> b_dims = c.trans_b ? std::vector<int64_t>{c.n, c.k} : std::vector<int64_t>{c.k, c.n};
  if (!two_d_a) a_dims.insert(a_dims.begin(), c.batch);
  if (!c.shared_b) b_dims.insert(b_dims.begin(), c.batch);
  OpRow r;
  r.name = "matmul_" + dims_name(a_dims) + (c.trans_a ? "T" : "") + "_" + dims_name(b_dims) + (c.trans_b ? "T" : "");
  r.inputs = {{a_dims}, {b_dims}};
  r.op = [c](const std::vector<ag::Variable>& v) { return ag::matmul(v[0], v[1], c.trans_a, c.trans_b); };
  r.reference = [c](const std::vector<Vec>& v) { return reference_matmul(c, v[0], v[1]); };
  r.kernel_f64 = [c](const std::vector<Vec>& v, const Vec* dy, std::vector<Vec>* g) {
    const GemmShape s = gemm_shape(c);
    Vec y(static_cast<size_t>(c.batch * c.m * c.n));
    cpu::gemm(s, v[0].data(), v[1].data(), y.data());
    if (dy) {
      *g = {Vec(v[0].size()), Vec(v[1].size())};
      cpu::matmul_backward(s, v[0].data(), v[1].data(), dy->data(), (*g)[0].data(), (*g)[1].data());
    }
    return y;
  };
  return r;
}

}  // namespace

void add_dense_rows(std::vector<OpRow>& rows) {
  rows.push_back(linear_row({5, 4}, 3, true));
  rows.push_back(linear_row({1, 1}, 7, true));      // batch 1, one input feature
  rows.push_back(linear_row({2, 3, 5}, 2, false));  // leading dimensions fold into rows
  rows.push_back(linear_row({37, 19}, 23, true));
  rows.push_back(linear_row({37, 19}, 23, false));
  rows.push_back(linear_row({150, 385}, 64, true, 24));  // one segment of the model's frames
  for (bool shared : {false, true})
    for (bool ta : {false, true})
      for (bool tb : {false, true}) rows.push_back(matmul_row({3, 5, 7, 4, ta, tb, shared}));
  rows.push_back(matmul_row({1, 1, 3, 1, false, false, true}, /*two_d_a=*/true));  // [1, 3] x [3, 1]
}

}  // namespace hl::optable
