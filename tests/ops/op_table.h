// The op table (issue 13, in the spirit of ggml's test-backend-ops): one row per
// differentiable op of the autograd (engine/autograd/*.h) and shape that matters (odd
// sizes, batch 1, every transpose and padding the kernels special-case). Three programs
// read it:
//   tests/ops/test_op_table.cpp       (cpu) the f32 forward against the row's double
//       reference; the f32 backward, and where the CPU kernel runs in double its double
//       backward, against central finite differences of that reference in double;
//   tests/ops/test_op_table_cuda.cpp  (gpu) the op on CUDA tensors against the same op on
//       CPU tensors, fresh random inputs, outputs from NaN-poisoned memory;
//   bench/bench_op_table.cpp          one benchmark per row: forward + backward on the CPU.
// Adding an op (or a shape) is adding a row in one of tests/ops/rows_*.cpp.
//
// A row calls the op through the public autograd API only (ag::Variable functions), so
// the same row runs on whatever device its input tensors live on. Its reference is the
// op's definition written out as plain loops in double in the rows file: it must not
// call kernels/ (it is what the kernels are checked against).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/autograd/variable.h"
#include "engine/device.h"
#include "engine/tensor.h"

namespace hl::optable {

using Vec = std::vector<double>;

// How an input's values are drawn (from a std::mt19937_64 seeded per row and run).
struct Fill {
  enum class Kind { Normal, Uniform, Mask } kind = Kind::Normal;
  double a = 1.0, b = 0.0;

  static Fill normal(double stddev = 1.0) { return {Kind::Normal, stddev, 0.0}; }
  static Fill uniform(double lo, double hi) { return {Kind::Uniform, lo, hi}; }
  // A dropout mask: 0 with probability p, 1 / (1 - p) otherwise (as f32 holds it).
  static Fill mask(double p) { return {Kind::Mask, p, 0.0}; }
};

struct Input {
  std::vector<int64_t> shape;
  bool grad = true;  // differentiated; false for labels and masks
  Fill fill = Fill::normal();
};

// Relative tolerances max|a - b| / max|b| (DESIGN section 6); 0 means bit for bit.
struct Tolerance {
  double forward = 1e-5;
  double grad = 1e-5;
};

// The op's CPU kernels instantiated for double: returns y = f(inputs); when dy is not
// null also writes one gradient per input into *grads (left empty for inputs without
// one). Only for rows whose kernels are templates (kernels/cpu/*.h); the rest leave it
// empty and their gradients are checked in f32 only.
using KernelF64 = std::function<Vec(const std::vector<Vec>& inputs, const Vec* dy, std::vector<Vec>* grads)>;

struct OpRow {
  std::string name;  // unique, letters, digits and '_': the test's and the benchmark's name
  std::vector<Input> inputs;
  // The op through engine/autograd, on the inputs' device. Inputs come as Variables in
  // the order of `inputs`; those with grad require a gradient.
  std::function<ag::Variable(const std::vector<ag::Variable>&)> op;
  // The same function in double, written out in loops; returns y flattened row-major.
  std::function<Vec(const std::vector<Vec>&)> reference;
  KernelF64 kernel_f64;  // optional
  Tolerance cpu;         // f32 forward vs reference; f32 gradients vs finite differences
  Tolerance cuda;        // CUDA vs CPU on the same inputs
  // Finite differences on at most this many elements of each input (evenly spread,
  // first and last included); the rest of a large input is checked on CUDA and by the
  // forward check only.
  int64_t fd_elements = 400;
  // The finite-difference step relative to max(1, |x|).
  double fd_step = 1e-6;
};

// Every row, built once.
const std::vector<OpRow>& op_table();

// The row's inputs drawn from `seed`: each rounded to f32, so the double copies hold
// exactly the values the f32 op sees.
std::vector<Vec> draw_inputs(const OpRow& row, uint64_t seed);

// f32 tensors of the row's input shapes holding `values`, on `device`.
std::vector<Tensor> make_tensors(const OpRow& row, const std::vector<Vec>& values, Device device);

// Leaves over `tensors`; those whose Input has grad require a gradient.
std::vector<ag::Variable> make_leaves(const OpRow& row, const std::vector<Tensor>& tensors);

// A tensor's f32 values in double (copied to the host first when it lives on a GPU).
Vec to_doubles(const Tensor& t);

}  // namespace hl::optable
