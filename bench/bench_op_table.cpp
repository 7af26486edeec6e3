// One benchmark per row of the op table (tests/ops/op_table.h), registered from the
// table itself: BM_op_table/<row>, forward + backward through the tape on the CPU at the
// row's shapes, from a fixed upstream gradient, the leaves' gradients dropped after each
// iteration (as bench_autograd_ops.cpp does). Adding a row adds its benchmark.
// Most rows are small (they are sized for finite differences), so each runs for only
// 0.05 s and a full hl-bench run stays short; the model-sized rows (linear 150x385,
// conv1d 600x13, layer norm 300x1024, softmax 4x150x150, ...) are the ones to watch.
// The paper-shaped benchmarks compared with PyTorch stay in bench_autograd_ops.cpp.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "ops/op_table.h"

namespace {

namespace optable = hl::optable;

void run_row(benchmark::State& state, size_t index) {
  const optable::OpRow& row = optable::op_table()[index];
  const std::vector<optable::Vec> values = optable::draw_inputs(row, 4);
  const std::vector<hl::ag::Variable> leaves =
      optable::make_leaves(row, optable::make_tensors(row, values, hl::Device::cpu()));
  const hl::ag::Variable probe = row.op(leaves);
  const hl::Tensor seed =
      hl::Tensor::from_vector(probe.shape(), std::vector<float>(static_cast<size_t>(probe.value().numel()), 0.5f));
  for (auto _ : state) {
    hl::ag::Variable y = row.op(leaves);
    y.backward(seed);
    benchmark::DoNotOptimize(y.value().raw());
    for (hl::ag::Variable v : leaves) v.zero_grad();
  }
}

const bool registered = [] {
  for (size_t i = 0; i < optable::op_table().size(); ++i)
    benchmark::RegisterBenchmark(("BM_op_table/" + optable::op_table()[i].name).c_str(),
                                 [i](benchmark::State& state) { run_row(state, i); })
        ->MinTime(0.05)
        ->Unit(benchmark::kMicrosecond);
  return true;
}();

}  // namespace
