// Tall-skinny f32 GEMM: hl::cpu::gemm_skinny_f32 against cblas_sgemm on the shapes of
// the CPU training step (C[m, n] = A[m, k] * B[k, n], m = batch x time, beta = 0), in the
// same run so the two can be compared directly. Run with OPENBLAS_CORETYPE=SkylakeX (Debian's
// OpenBLAS mis-detects newer Xeons) and OPENBLAS_NUM_THREADS=1 or 2: both split rows over
// the engine's threads (kernels/cpu/parallel.h), ours as gemm_f32 does, OpenBLAS's
// single-threaded sgemm as hl::cpu::sgemm_threaded does (the engine keeps OpenBLAS itself
// on one thread, kernels/cpu/gemm.cpp):
//   hl-bench --benchmark_filter=BM_skinny
// Args: m, k, n, trans_b (B stored [n, k]).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_skinny.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/random.h"

namespace {

// One set of buffers, as large as the largest shape, filled once: A alone is 368 MB at
// m = 45000, k = 2048.
struct Buffers {
  std::vector<float> a, b, c;
  Buffers() : a(45000LL * 2048), b(2048LL * 128), c(180000LL * 64) {
    hl::cpu::uniform_f32(1, 0, a.data(), static_cast<int64_t>(a.size()), -1.0f, 1.0f);
    hl::cpu::uniform_f32(2, 0, b.data(), static_cast<int64_t>(b.size()), -1.0f, 1.0f);
    std::fill(c.begin(), c.end(), 0.0f);
  }
};
Buffers& buffers() {
  static Buffers bufs;
  return bufs;
}

hl::GemmShape shape_of(const benchmark::State& state) {
  hl::GemmShape s;
  s.m = state.range(0), s.k = state.range(1), s.n = state.range(2);
  s.trans_b = state.range(3) != 0;
  return s;
}

void set_counters(benchmark::State& state, const hl::GemmShape& s) {
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(s.m * s.n * s.k) *
                                                     static_cast<double>(state.iterations()) * 1e-9,
                                                 benchmark::Counter::kIsRate);
}

void BM_skinny_ours(benchmark::State& state) {
  const hl::GemmShape s = shape_of(state);
  if (!hl::cpu::gemm_skinny_supported()) {
    state.SkipWithError("no AVX-512F");
    return;
  }
  Buffers& buf = buffers();
  const int threads = hl::cpu::num_threads();  // as gemm_f32 does
  for (auto _ : state) {
    hl::cpu::gemm_skinny_f32(s, buf.a.data(), buf.b.data(), buf.c.data(), threads);
    benchmark::DoNotOptimize(buf.c.data());
  }
  set_counters(state, s);
}

void BM_skinny_openblas(benchmark::State& state) {
  const hl::GemmShape s = shape_of(state);
  Buffers& buf = buffers();
  for (auto _ : state) {
    hl::cpu::sgemm_threaded(false, s.trans_b, s.m, s.n, s.k, 1.0f, buf.a.data(), s.k, buf.b.data(),
                            s.trans_b ? s.k : s.n, 0.0f, buf.c.data(), s.n);
    benchmark::DoNotOptimize(buf.c.data());
  }
  set_counters(state, s);
}

// {m, k, n, trans_b}: the training step's products (B x T = 300 x 150 = 45,000 rows, or
// a multiple of it: 4 x for the MFCC branch's frames), then smaller and narrower ones that locate the
// thresholds in gemm_skinny_preferred. Registered in pairs, ours then OpenBLAS's, so the
// two runs of a shape are next to each other in time (and in the output).
const int registered = [] {
  const std::vector<std::vector<int64_t>> args = {
      {45000, 2048, 64, 0}, {45000, 1024, 64, 0}, {45000, 385, 80, 0}, {90000, 192, 128, 0},
      {180000, 39, 64, 0},  {45000, 196, 64, 0},  {45000, 64, 64, 0},
      {45000, 64, 64, 1},   {45000, 192, 128, 1},                       // B transposed
      {45000, 192, 16, 0},  {45000, 192, 32, 0},  {45000, 192, 48, 0},  // narrow panels
      {45000, 13, 64, 0},   {4800, 64, 64, 0},    {1024, 64, 64, 0},    {256, 64, 64, 0}, {256, 16, 16, 0},
      {256, 16, 64, 0},     {64, 64, 64, 0},      {32, 2048, 64, 0},    {128, 128, 128, 0}, {1024, 16, 16, 0},
      {64, 16, 16, 0},      {16, 64, 64, 0},      {4800, 13, 64, 0},    {19200, 13, 64, 0}, {1024, 32, 64, 0},
      {45000, 16, 16, 0},   {4800, 16, 16, 0},    {256, 32, 64, 0}};
  for (const auto& a : args) {
    benchmark::RegisterBenchmark("BM_skinny_ours", BM_skinny_ours)->Args(a)->ArgNames({"m", "k", "n", "tb"})
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("BM_skinny_openblas", BM_skinny_openblas)->Args(a)->ArgNames({"m", "k", "n", "tb"})
        ->Unit(benchmark::kMillisecond);
  }
  return 0;
}();

}  // namespace
