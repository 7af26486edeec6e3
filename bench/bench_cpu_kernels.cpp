// CPU kernel benchmarks: GEMM (GFLOP/s) and elementwise/reduction ops (GB/s), with
// the same shapes as bench/peers/torch_cpu.py so bench/compare.py can print ratios.
#include <benchmark/benchmark.h>

#include <vector>

#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/random.h"
#include "kernels/cpu/reduce.h"

namespace {

std::vector<float> filled(int64_t n, uint64_t seed) {
  std::vector<float> v(static_cast<size_t>(n));
  hl::cpu::uniform_f32(seed, 0, v.data(), n, -1.0f, 1.0f);
  return v;
}

void BM_gemm_f32(benchmark::State& state) {
  const int64_t n = state.range(0);
  auto a = filled(n * n, 1), b = filled(n * n, 2), c = filled(n * n, 3);
  hl::GemmShape s;
  s.m = s.n = s.k = n;
  for (auto _ : state) {
    hl::cpu::gemm_f32(s, a.data(), b.data(), c.data());
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * n * n * n * static_cast<double>(state.iterations()) * 1e-9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_gemm_f32)->Arg(128)->Arg(512)->Arg(1024)->Unit(benchmark::kMillisecond);

// Bytes moved per call: two inputs read and one output written (add), one and one (unary).
void BM_add_f32(benchmark::State& state) {
  const int64_t n = state.range(0);
  auto a = filled(n, 1), b = filled(n, 2);
  std::vector<float> y(static_cast<size_t>(n));
  for (auto _ : state) {
    hl::cpu::add_f32(a.data(), b.data(), y.data(), n);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GB/s"] = benchmark::Counter(12.0 * n * static_cast<double>(state.iterations()) * 1e-9,
                                              benchmark::Counter::kIsRate);
}
BENCHMARK(BM_add_f32)->Arg(1 << 16)->Arg(1 << 22);

void BM_sigmoid_f32(benchmark::State& state) {
  const int64_t n = state.range(0);
  auto x = filled(n, 1);
  std::vector<float> y(static_cast<size_t>(n));
  for (auto _ : state) {
    hl::cpu::sigmoid_f32(x.data(), y.data(), n);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GB/s"] = benchmark::Counter(8.0 * n * static_cast<double>(state.iterations()) * 1e-9,
                                              benchmark::Counter::kIsRate);
}
BENCHMARK(BM_sigmoid_f32)->Arg(1 << 16)->Arg(1 << 22);

void BM_sum_rows_f32(benchmark::State& state) {  // [rows, 1024] summed over the last dim
  const int64_t rows = state.range(0), cols = 1024;
  auto x = filled(rows * cols, 1);
  std::vector<float> y(static_cast<size_t>(rows));
  for (auto _ : state) {
    hl::cpu::sum_dim_f32(x.data(), y.data(), rows, cols, 1);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GB/s"] = benchmark::Counter(4.0 * rows * cols * static_cast<double>(state.iterations()) * 1e-9,
                                              benchmark::Counter::kIsRate);
}
BENCHMARK(BM_sum_rows_f32)->Arg(1024)->Arg(4096);

}  // namespace
