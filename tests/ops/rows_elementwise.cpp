// Rows: the activations (ag::relu, sigmoid, tanh), ag::add, ag::mul, ag::scale and
// ag::dropout with a fixed seed (its mask written out from the Philox stream).
#include <algorithm>
#include <cmath>
#include <string>

#include "engine/autograd/dropout.h"
#include "engine/autograd/elementwise.h"
#include "kernels/cpu/act_grad.h"
#include "kernels/cpu/dropout.h"
#include "ops/rows.h"

namespace hl::optable {

namespace {

double activate(cpu::Activation kind, double x) {
  switch (kind) {
    case cpu::Activation::Relu: return std::max(x, 0.0);
    case cpu::Activation::Sigmoid: return 1.0 / (1.0 + std::exp(-x));
    case cpu::Activation::Tanh: return std::tanh(x);
  }
  return 0;
}

OpRow activation_row(cpu::Activation kind, std::vector<int64_t> dims) {
  static const char* names[] = {"relu", "sigmoid", "tanh"};
  OpRow r;
  r.name = std::string(names[static_cast<int>(kind)]) + "_" + dims_name(dims);
  r.inputs = {{dims, true, Fill::normal(2.0)}};  // reaching into the flat tails of sigmoid and tanh
  r.op = [kind](const std::vector<ag::Variable>& v) {
    return kind == cpu::Activation::Relu ? ag::relu(v[0]) : kind == cpu::Activation::Sigmoid ? ag::sigmoid(v[0]) : ag::tanh(v[0]);
  };
  r.reference = [kind](const std::vector<Vec>& v) {
    Vec y(v[0].size());
    for (size_t i = 0; i < y.size(); ++i) y[i] = activate(kind, v[0][i]);
    return y;
  };
  r.kernel_f64 = [kind](const std::vector<Vec>& v, const Vec* dy, std::vector<Vec>* g) {
    const auto n = static_cast<int64_t>(v[0].size());
    Vec y(v[0].size());
    cpu::activation_forward(kind, v[0].data(), y.data(), n);
    if (dy) {
      *g = {Vec(v[0].size())};
      cpu::activation_backward(kind, y.data(), dy->data(), (*g)[0].data(), n);
    }
    return y;
  };
  // ReLU is a comparison on both devices; sigmoid and tanh round their exponentials
  // differently on CUDA (and the backward reads the forward's output).
  if (kind == cpu::Activation::Relu) r.cuda = {0.0, 0.0};
  return r;
}

OpRow binary_row(const std::string& op, std::vector<int64_t> dims) {
  OpRow r;
  r.name = op + "_" + dims_name(dims);
  r.inputs = {{dims}, {dims}};
  const bool is_add = op == "add";
  r.op = [is_add](const std::vector<ag::Variable>& v) { return is_add ? ag::add(v[0], v[1]) : ag::mul(v[0], v[1]); };
  r.reference = [is_add](const std::vector<Vec>& v) {
    Vec y(v[0].size());
    for (size_t i = 0; i < y.size(); ++i) y[i] = is_add ? v[0][i] + v[1][i] : v[0][i] * v[1][i];
    return y;
  };
  r.cuda = {0.0, 0.0};  // one rounded f32 operation per element on both devices
  return r;
}

OpRow scale_row(std::vector<int64_t> dims, float alpha) {
  OpRow r;
  r.name = "scale_" + dims_name(dims);
  r.inputs = {{dims}};
  r.op = [alpha](const std::vector<ag::Variable>& v) { return ag::scale(v[0], alpha); };
  r.reference = [alpha](const std::vector<Vec>& v) {
    Vec y(v[0].size());
    for (size_t i = 0; i < y.size(); ++i) y[i] = alpha * v[0][i];
    return y;
  };
  r.cuda = {0.0, 0.0};
  return r;
}

OpRow dropout_row(std::vector<int64_t> dims, float p, uint64_t seed, uint64_t offset) {
  OpRow r;
  r.name = "dropout_" + dims_name(dims) + "_p" + std::to_string(static_cast<int>(p * 100)) + "_offset" +
           std::to_string(offset);
  r.inputs = {{dims}};
  const int64_t n = numel(dims);
  r.op = [=](const std::vector<ag::Variable>& v) { return ag::dropout(v[0], p, true, {seed, offset}); };
  r.reference = [=](const std::vector<Vec>& v) {
    Vec y = reference_dropout_mask(seed, offset, p, n);
    for (size_t i = 0; i < y.size(); ++i) y[i] *= v[0][i];
    return y;
  };
  r.kernel_f64 = [=](const std::vector<Vec>& v, const Vec* dy, std::vector<Vec>* g) {
    Vec mask(v[0].size()), y(v[0].size());
    cpu::dropout_mask(seed, offset, static_cast<double>(p), mask.data(), n);  // p as the f32 op compares it
    for (size_t i = 0; i < y.size(); ++i) y[i] = v[0][i] * mask[i];
    if (dy) {
      *g = {Vec(v[0].size())};
      for (size_t i = 0; i < y.size(); ++i) (*g)[0][i] = (*dy)[i] * mask[i];
    }
    return y;
  };
  r.cuda = {0.0, 0.0};  // the same Philox words and the same f32 products
  return r;
}

}  // namespace

void add_elementwise_rows(std::vector<OpRow>& rows) {
  for (auto kind : {cpu::Activation::Relu, cpu::Activation::Sigmoid, cpu::Activation::Tanh}) {
    rows.push_back(activation_row(kind, {40}));
    rows.push_back(activation_row(kind, {1}));
    rows.push_back(activation_row(kind, {2, 3, 5}));
    rows.push_back(activation_row(kind, {10007}));
  }
  for (const char* op : {"add", "mul"}) {
    rows.push_back(binary_row(op, {3, 5}));
    rows.push_back(binary_row(op, {1}));
    rows.push_back(binary_row(op, {7, 1001}));
  }
  rows.push_back(scale_row({3, 5}, -1.75f));
  rows.push_back(scale_row({1}, 0.5f));
  rows.push_back(dropout_row({4, 5}, 0.3f, 123, 7));
  rows.push_back(dropout_row({1}, 0.5f, 9, 0));
  rows.push_back(dropout_row({300, 37}, 0.2f, 42, uint64_t{1} << 33));  // counter above 32 bits
}

}  // namespace hl::optable
