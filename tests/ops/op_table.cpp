#include "ops/op_table.h"

#include <cctype>
#include <cmath>
#include <random>
#include <set>
#include <stdexcept>

#include "engine/fnv1a.h"
#include "kernels/common/philox.h"
#include "ops/rows.h"

namespace hl::optable {

const std::vector<OpRow>& op_table() {
  static const std::vector<OpRow> rows = [] {
    std::vector<OpRow> all;
    add_dense_rows(all);
    add_conv_rows(all);
    add_elementwise_rows(all);
    add_norm_rows(all);
    add_shape_rows(all);
    add_loss_rows(all);
    add_lstm_rows(all);
    // Names become test and benchmark names: they must be unique and plain.
    std::set<std::string> seen;
    for (const OpRow& r : all) {
      if (!seen.insert(r.name).second) throw std::logic_error("op table: two rows named " + r.name);
      for (char c : r.name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_')
          throw std::logic_error("op table: row name " + r.name + " has a character other than [A-Za-z0-9_]");
    }
    return all;
  }();
  return rows;
}

std::vector<Vec> draw_inputs(const OpRow& row, uint64_t seed) {
  // Each row and seed its own stream, so adding a row changes no other row's inputs.
  std::mt19937_64 gen(seed ^ fnv1a64(row.name));
  std::vector<Vec> values;
  for (const Input& in : row.inputs) {
    Vec v(static_cast<size_t>(numel(in.shape)));
    std::normal_distribution<double> normal(0.0, in.fill.a);
    std::uniform_real_distribution<double> uniform(in.fill.a, in.fill.b), unit(0.0, 1.0);
    const float keep = 1.0f / (1.0f - static_cast<float>(in.fill.a));
    for (double& x : v) {
      switch (in.fill.kind) {
        case Fill::Kind::Normal: x = normal(gen); break;
        case Fill::Kind::Uniform: x = uniform(gen); break;
        case Fill::Kind::Mask: x = unit(gen) < in.fill.a ? 0.0 : keep; break;
      }
      x = static_cast<float>(x);
    }
    values.push_back(std::move(v));
  }
  return values;
}

std::vector<Tensor> make_tensors(const OpRow& row, const std::vector<Vec>& values, Device device) {
  std::vector<Tensor> tensors;
  for (size_t i = 0; i < row.inputs.size(); ++i) {
    const std::vector<float> f(values[i].begin(), values[i].end());
    tensors.push_back(Tensor::from_vector(Shape(row.inputs[i].shape), f).to(device));
  }
  return tensors;
}

std::vector<ag::Variable> make_leaves(const OpRow& row, const std::vector<Tensor>& tensors) {
  std::vector<ag::Variable> leaves;
  for (size_t i = 0; i < row.inputs.size(); ++i) leaves.emplace_back(tensors[i], row.inputs[i].grad);
  return leaves;
}

Vec to_doubles(const Tensor& t) {
  const Tensor host = t.to(Device::cpu());
  const float* p = host.data<float>();
  return Vec(p, p + host.numel());
}

std::string dims_name(const std::vector<int64_t>& dims) {
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "x" : "") + std::to_string(dims[i]);
  return dims.empty() ? "scalar" : s;
}

int64_t numel(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

Split split(const std::vector<int64_t>& dims, int dim) {
  const int d = dim < 0 ? dim + static_cast<int>(dims.size()) : dim;
  Split s;
  s.n = dims[d];
  for (int i = 0; i < d; ++i) s.outer *= dims[i];
  for (size_t i = d + 1; i < dims.size(); ++i) s.inner *= dims[i];
  return s;
}

Vec reference_dropout_mask(uint64_t seed, uint64_t offset, float p, int64_t n) {
  Vec mask(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t word = philox_word(seed, offset + static_cast<uint64_t>(i));
    const double u = (static_cast<double>(word >> 8) + 1.0) / 16777216.0;  // the top 24 bits, in (0, 1]
    mask[static_cast<size_t>(i)] = u > p ? 1.0 / (1.0 - p) : 0.0;
  }
  return mask;
}

}  // namespace hl::optable
