// CPU kernel benchmarks: GEMM (GFLOP/s) and elementwise/reduction ops (GB/s), with
// the same shapes as bench/peers/torch_cpu.py so bench/compare.py can print ratios.
// Buffers are engine tensors, 64-byte aligned as the engine's (and PyTorch's) are: a
// std::vector of 256 KB comes from mmap at 16 bytes past a page, so every 64-byte
// AVX-512 access straddled two cache lines, which PyTorch's buffers never do (issue 18
// item 12: add on 64K floats read 0.80x PyTorch from that alone).
#include <benchmark/benchmark.h>

#include <atomic>

#include "engine/tensor.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/random.h"
#include "kernels/cpu/reduce.h"

namespace {

// n floats uniform in [-1, 1), or uninitialised when seed is 0 (an output).
hl::Tensor filled(int64_t n, uint64_t seed) {
  hl::Tensor t = hl::Tensor::empty({n}, hl::DType::F32);
  if (seed != 0) hl::cpu::uniform_f32(seed, 0, t.data<float>(), n, -1.0f, 1.0f);
  return t;
}

void BM_gemm_f32(benchmark::State& state) {
  const int64_t n = state.range(0);
  hl::Tensor a = filled(n * n, 1), b = filled(n * n, 2), c = filled(n * n, 3);
  hl::GemmShape s;
  s.m = s.n = s.k = n;
  for (auto _ : state) {
    hl::cpu::gemm_f32(s, a.data<float>(), b.data<float>(), c.data<float>());
    benchmark::DoNotOptimize(c.data<float>());
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * n * n * n * static_cast<double>(state.iterations()) * 1e-9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_gemm_f32)->Arg(128)->Arg(512)->Arg(1024)->Unit(benchmark::kMillisecond);

// Bytes moved per call: two inputs read and one output written (add), one and one (unary).
void BM_add_f32(benchmark::State& state) {
  const int64_t n = state.range(0);
  hl::Tensor a = filled(n, 1), b = filled(n, 2), y = filled(n, 0);
  for (auto _ : state) {
    hl::cpu::add_f32(a.data<float>(), b.data<float>(), y.data<float>(), n);
    benchmark::DoNotOptimize(y.data<float>());
  }
  state.counters["GB/s"] = benchmark::Counter(12.0 * n * static_cast<double>(state.iterations()) * 1e-9,
                                              benchmark::Counter::kIsRate);
}
BENCHMARK(BM_add_f32)->Arg(1 << 16)->Arg(1 << 22);

void BM_sigmoid_f32(benchmark::State& state) {
  const int64_t n = state.range(0);
  hl::Tensor x = filled(n, 1), y = filled(n, 0);
  for (auto _ : state) {
    hl::cpu::sigmoid_f32(x.data<float>(), y.data<float>(), n);
    benchmark::DoNotOptimize(y.data<float>());
  }
  state.counters["GB/s"] = benchmark::Counter(8.0 * n * static_cast<double>(state.iterations()) * 1e-9,
                                              benchmark::Counter::kIsRate);
}
BENCHMARK(BM_sigmoid_f32)->Arg(1 << 16)->Arg(1 << 22);

void BM_sum_rows_f32(benchmark::State& state) {  // [rows, 1024] summed over the last dim
  const int64_t rows = state.range(0), cols = 1024;
  hl::Tensor x = filled(rows * cols, 1), y = filled(rows, 0);
  for (auto _ : state) {
    hl::cpu::sum_dim_f32(x.data<float>(), y.data<float>(), rows, cols, 1);
    benchmark::DoNotOptimize(y.data<float>());
  }
  state.counters["GB/s"] = benchmark::Counter(4.0 * rows * cols * static_cast<double>(state.iterations()) * 1e-9,
                                              benchmark::Counter::kIsRate);
}
BENCHMARK(BM_sum_rows_f32)->Arg(1024)->Arg(4096);

// The fixed cost of one parallel_for split in two (kernels/cpu/parallel.h) around a
// trivial body: what every pooled loop pays on top of its work. No peer (hl only).
void BM_parallel_for_two_parts(benchmark::State& state) {
  std::atomic<int64_t> sink{0};
  for (auto _ : state) {
    hl::cpu::parallel_for(2, 1, [&](int64_t b, int64_t e) { sink.fetch_add(e - b, std::memory_order_relaxed); });
  }
  benchmark::DoNotOptimize(sink.load());
}
BENCHMARK(BM_parallel_for_two_parts)->Unit(benchmark::kMicrosecond);

}  // namespace
