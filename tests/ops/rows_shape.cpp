// Rows: ag::reshape, ag::concat, ag::narrow and the reductions ag::sum, ag::mean (along
// a dimension), ag::sum_all, ag::mean_all.
#include <string>

#include "engine/autograd/shape_ops.h"
#include "kernels/cpu/act_grad.h"
#include "kernels/cpu/concat.h"
#include "ops/rows.h"

namespace hl::optable {

namespace {

std::string dim_name(int dim) { return dim < 0 ? "m" + std::to_string(-dim) : std::to_string(dim); }

OpRow reshape_row(std::vector<int64_t> dims, std::vector<int64_t> to) {
  OpRow r;
  r.name = "reshape_" + dims_name(dims) + "_to_" + dims_name(to);
  for (char& c : r.name) c = c == '-' ? 'm' : c;
  r.inputs = {{dims}};
  r.op = [to](const std::vector<ag::Variable>& v) { return ag::reshape(v[0], to); };
  r.reference = [](const std::vector<Vec>& v) { return v[0]; };  // the same elements in the same order
  r.cuda = {0.0, 0.0};
  return r;
}

// y [outer, sum of n_i, inner]: the inputs' [outer, n_i, inner] slabs side by side.
OpRow concat_row(std::vector<std::vector<int64_t>> shapes, int dim) {
  OpRow r;
  r.name = "concat";
  std::vector<Split> parts;
  int64_t total = 0;
  for (const auto& s : shapes) {
    r.name += "_" + dims_name(s);
    r.inputs.push_back({s});
    parts.push_back(split(s, dim));
    total += parts.back().n;
  }
  r.name += "_dim" + dim_name(dim);
  const int64_t outer = parts[0].outer, inner = parts[0].inner;
  r.op = [dim](const std::vector<ag::Variable>& v) { return ag::concat(v, dim); };
  r.reference = [=](const std::vector<Vec>& v) {
    Vec y(static_cast<size_t>(outer * total * inner));
    int64_t at = 0;
    for (size_t k = 0; k < v.size(); ++k) {
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t j = 0; j < parts[k].n; ++j)
          for (int64_t i = 0; i < inner; ++i) y[(o * total + at + j) * inner + i] = v[k][(o * parts[k].n + j) * inner + i];
      at += parts[k].n;
    }
    return y;
  };
  // The slab copies are byte copies of any element size: here doubles.
  r.kernel_f64 = [=](const std::vector<Vec>& v, const Vec* dy, std::vector<Vec>* g) {
    Vec y(static_cast<size_t>(outer * total * inner));
    int64_t at = 0;
    if (dy) g->clear();
    for (size_t k = 0; k < v.size(); ++k) {
      const int64_t n = parts[k].n;
      cpu::copy_slab(v[k].data(), n, 0, y.data(), total, at, outer, n, inner, sizeof(double));
      if (dy) {
        g->push_back(Vec(v[k].size()));
        cpu::copy_slab(dy->data(), total, at, g->back().data(), n, 0, outer, n, inner, sizeof(double));
      }
      at += n;
    }
    return y;
  };
  r.cuda = {0.0, 0.0};
  return r;
}

OpRow narrow_row(std::vector<int64_t> dims, int dim, int64_t start, int64_t length) {
  const Split s = split(dims, dim);
  OpRow r;
  r.name = "narrow_" + dims_name(dims) + "_dim" + dim_name(dim) + "_" + std::to_string(start) + "_" +
           std::to_string(length);
  r.inputs = {{dims}};
  r.op = [=](const std::vector<ag::Variable>& v) { return ag::narrow(v[0], dim, start, length); };
  r.reference = [=](const std::vector<Vec>& v) {
    Vec y(static_cast<size_t>(s.outer * length * s.inner));
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t j = 0; j < length; ++j)
        for (int64_t i = 0; i < s.inner; ++i) y[(o * length + j) * s.inner + i] = v[0][(o * s.n + start + j) * s.inner + i];
    return y;
  };
  r.kernel_f64 = [=](const std::vector<Vec>& v, const Vec* dy, std::vector<Vec>* g) {
    Vec y(static_cast<size_t>(s.outer * length * s.inner));
    cpu::copy_slab(v[0].data(), s.n, start, y.data(), length, 0, s.outer, length, s.inner, sizeof(double));
    if (dy) {
      *g = {Vec(v[0].size())};
      cpu::zero_fill((*g)[0].data(), (*g)[0].size() * sizeof(double));
      cpu::copy_slab(dy->data(), length, 0, (*g)[0].data(), s.n, start, s.outer, length, s.inner, sizeof(double));
    }
    return y;
  };
  r.cuda = {0.0, 0.0};
  return r;
}

// Sum or mean over dimension dim (all: over everything, shape []).
OpRow reduce_row(bool is_mean, std::vector<int64_t> dims, int dim, bool all) {
  const Split s = all ? Split{1, numel(dims), 1} : split(dims, dim);
  OpRow r;
  r.name = std::string(is_mean ? "mean" : "sum") + (all ? "_all_" : "_") + dims_name(dims) +
           (all ? "" : "_dim" + dim_name(dim));
  r.inputs = {{dims}};
  r.op = [=](const std::vector<ag::Variable>& v) {
    if (all) return is_mean ? ag::mean_all(v[0]) : ag::sum_all(v[0]);
    return is_mean ? ag::mean(v[0], dim) : ag::sum(v[0], dim);
  };
  r.reference = [=](const std::vector<Vec>& v) {
    Vec y(static_cast<size_t>(s.outer * s.inner), 0.0);
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t j = 0; j < s.n; ++j)
        for (int64_t i = 0; i < s.inner; ++i) y[o * s.inner + i] += v[0][(o * s.n + j) * s.inner + i];
    if (is_mean)
      for (double& x : y) x /= static_cast<double>(s.n);
    return y;
  };
  // The reductions' forward kernels are f32 only (kernels/cpu/reduce.h): in double the
  // forward is the reference itself and only the backward (broadcast_middle) is a kernel.
  const auto forward = r.reference;
  r.kernel_f64 = [=](const std::vector<Vec>& v, const Vec* dy, std::vector<Vec>* g) {
    if (dy) {
      *g = {Vec(v[0].size())};
      cpu::broadcast_middle(dy->data(), (*g)[0].data(), s.outer, s.n, s.inner, is_mean ? 1.0 / static_cast<double>(s.n) : 1.0);
    }
    return forward(v);
  };
  r.cuda = {1e-6, 0.0};  // sums in double in another order; the backward is a broadcast
  return r;
}

}  // namespace

void add_shape_rows(std::vector<OpRow>& rows) {
  rows.push_back(reshape_row({2, 3, 4}, {6, -1}));
  rows.push_back(reshape_row({1}, {1, 1, 1}));

  rows.push_back(concat_row({{2, 3, 4}, {2, 1, 4}}, 1));
  rows.push_back(concat_row({{1, 2}, {3, 2}, {2, 2}}, 0));
  rows.push_back(concat_row({{2, 3}, {2, 5}}, -1));
  rows.push_back(concat_row({{3, 4}}, 0));
  rows.push_back(concat_row({{300, 20}, {300, 20}}, 1));  // the BiLSTM's two last states

  rows.push_back(narrow_row({3, 5, 2}, 1, 1, 3));
  rows.push_back(narrow_row({4, 3}, 0, 3, 1));
  rows.push_back(narrow_row({2, 6}, -1, 0, 6));
  rows.push_back(narrow_row({16, 150, 40}, 1, 149, 1));  // the last step of a sequence

  for (bool is_mean : {false, true}) {
    rows.push_back(reduce_row(is_mean, {3, 4, 5}, 1, false));
    rows.push_back(reduce_row(is_mean, {3, 5, 7}, 0, false));
    rows.push_back(reduce_row(is_mean, {3, 5, 7}, 1, false));
    rows.push_back(reduce_row(is_mean, {1, 9, 1}, 1, false));
    rows.push_back(reduce_row(is_mean, {4, 1, 6}, 1, false));
    rows.push_back(reduce_row(is_mean, {2, 300, 1}, -2, false));
    rows.push_back(reduce_row(is_mean, {3, 4}, -1, false));
    rows.push_back(reduce_row(is_mean, {3, 4}, 0, true));
    rows.push_back(reduce_row(is_mean, {1}, 0, true));
  }
}

}  // namespace hl::optable
