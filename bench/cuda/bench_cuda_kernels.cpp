// CUDA kernel benchmarks (DESIGN section 8): GEMM (GFLOP/s), elementwise, reductions,
// transpose and random numbers (GB/s), with the shapes of bench/peers/torch_cuda.py so
// that bench/compare.py can print ratios against PyTorch on the same GPU.
//
// Each iteration is one kernel call timed by CUDA events on the engine's stream (Google
// Benchmark's manual time), with the L2 cache flushed before it by overwriting a buffer
// twice the L2's size: otherwise a small problem would be served from the previous
// iteration's cached data and report bandwidths the hardware cannot sustain.
// Buffers come from the engine's caching arena. Without a device every benchmark is
// skipped with a message.
#include <benchmark/benchmark.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "engine/cuda_backend.h"
#include "engine/device.h"
#include "engine/ops.h"
#include "engine/tensor.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/random.h"
#include "kernels/cuda/reduce.h"
#include "kernels/cuda/transpose.h"

namespace {

using hl::Device;
using hl::Tensor;

cudaStream_t stream() { return static_cast<cudaStream_t>(hl::cuda_backend::current_stream(0)); }

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(status));
}

// Times single kernel calls with events, after flushing the L2.
class EventTimer {
 public:
  EventTimer() {
    check(cudaEventCreate(&start_), "cudaEventCreate");
    check(cudaEventCreate(&stop_), "cudaEventCreate");
    int l2 = 0;
    check(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, 0), "cudaDeviceGetAttribute");
    flush_ = Tensor::empty({2 * static_cast<int64_t>(l2) + 1}, hl::DType::U8, Device::cuda());
  }
  ~EventTimer() {
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
  }
  EventTimer(const EventTimer&) = delete;
  EventTimer& operator=(const EventTimer&) = delete;

  // Seconds that `launch` took on the stream.
  template <class Launch>
  double seconds(Launch launch) {
    cudaStream_t s = stream();
    check(cudaMemsetAsync(flush_.raw(), ++flush_value_, flush_.nbytes(), s), "L2 flush");
    check(cudaEventRecord(start_, s), "cudaEventRecord");
    launch(s);
    check(cudaEventRecord(stop_, s), "cudaEventRecord");
    check(cudaEventSynchronize(stop_), "cudaEventSynchronize");
    float ms = 0;
    check(cudaEventElapsedTime(&ms, start_, stop_), "cudaEventElapsedTime");
    return ms * 1e-3;
  }

 private:
  cudaEvent_t start_{}, stop_{};
  Tensor flush_;  // [2 * L2 bytes]
  unsigned char flush_value_ = 0;
};

// Runs the benchmark loop around `launch` and reports `unit` (e.g. "GB/s") for `amount`
// (bytes or flops per call, in units of 1e9).
template <class Launch>
void run(benchmark::State& state, double giga_per_call, const char* unit, Launch launch) {
  EventTimer timer;
  timer.seconds(launch);  // warm-up: lazy handles, first-touch of the buffers
  double total = 0;
  for (auto _ : state) {
    const double s = timer.seconds(launch);
    state.SetIterationTime(s);
    total += s;
  }
  if (total > 0) state.counters[unit] = giga_per_call * static_cast<double>(state.iterations()) / total;
}

bool need_device(benchmark::State& state) {
  if (hl::cuda_available()) return true;
  state.SkipWithError("no CUDA device visible");
  return false;
}

Tensor random_device(int64_t n, uint64_t seed) { return hl::ops::uniform({n}, seed, 0, -1.0f, 1.0f, Device::cuda()); }

float* f32(Tensor& t) { return static_cast<float*>(t.raw()); }

void BM_cuda_gemm_f32(benchmark::State& state) {  // [n, n] x [n, n]
  if (!need_device(state)) return;
  const int64_t n = state.range(0);
  Tensor a = random_device(n * n, 1), b = random_device(n * n, 2), c = random_device(n * n, 3);
  hl::GemmShape s;
  s.m = s.n = s.k = n;
  run(state, 2.0 * n * n * n * 1e-9, "GFLOP/s",
      [&](cudaStream_t st) { hl::cuda::gemm_f32(s, f32(a), f32(b), f32(c), st); });
}
BENCHMARK(BM_cuda_gemm_f32)->Arg(128)->Arg(512)->Arg(1024)->Arg(2048)->Arg(4096)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_cuda_gemm_batched_f32(benchmark::State& state) {  // [batch, n, n] x [batch, n, n]
  if (!need_device(state)) return;
  const int64_t batch = state.range(0), n = state.range(1);
  Tensor a = random_device(batch * n * n, 1), b = random_device(batch * n * n, 2), c = random_device(batch * n * n, 3);
  hl::GemmShape s;
  s.batch = batch;
  s.m = s.n = s.k = n;
  s.stride_a = s.stride_b = s.stride_c = n * n;
  run(state, 2.0 * batch * n * n * n * 1e-9, "GFLOP/s",
      [&](cudaStream_t st) { hl::cuda::gemm_f32(s, f32(a), f32(b), f32(c), st); });
}
BENCHMARK(BM_cuda_gemm_batched_f32)->Args({64, 256})->UseManualTime()->Unit(benchmark::kMicrosecond);

// Bytes moved per call: two inputs read and one output written (add), one and one (unary).
void BM_cuda_add_f32(benchmark::State& state) {
  if (!need_device(state)) return;
  const int64_t n = state.range(0);
  Tensor a = random_device(n, 1), b = random_device(n, 2), y = random_device(n, 3);
  run(state, 12.0 * n * 1e-9, "GB/s", [&](cudaStream_t st) { hl::cuda::add_f32(f32(a), f32(b), f32(y), n, st); });
}
BENCHMARK(BM_cuda_add_f32)->Arg(1 << 16)->Arg(1 << 22)->Arg(1 << 26)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_cuda_sigmoid_f32(benchmark::State& state) {
  if (!need_device(state)) return;
  const int64_t n = state.range(0);
  Tensor x = random_device(n, 1), y = random_device(n, 2);
  run(state, 8.0 * n * 1e-9, "GB/s", [&](cudaStream_t st) { hl::cuda::sigmoid_f32(f32(x), f32(y), n, st); });
}
BENCHMARK(BM_cuda_sigmoid_f32)->Arg(1 << 16)->Arg(1 << 22)->Arg(1 << 26)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_cuda_sum_rows_f32(benchmark::State& state) {  // [rows, 1024] summed over the last dim
  if (!need_device(state)) return;
  const int64_t rows = state.range(0), cols = 1024;
  Tensor x = random_device(rows * cols, 1), y = random_device(rows, 2);
  run(state, 4.0 * rows * cols * 1e-9, "GB/s",
      [&](cudaStream_t st) { hl::cuda::sum_dim_f32(f32(x), f32(y), rows, cols, 1, st); });
}
BENCHMARK(BM_cuda_sum_rows_f32)->Arg(1024)->Arg(4096)->Arg(16384)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_cuda_sum_cols_f32(benchmark::State& state) {  // [rows, 1024] summed over the first dim
  if (!need_device(state)) return;
  const int64_t rows = state.range(0), cols = 1024;
  Tensor x = random_device(rows * cols, 1), y = random_device(cols, 2);
  run(state, 4.0 * rows * cols * 1e-9, "GB/s",
      [&](cudaStream_t st) { hl::cuda::sum_dim_f32(f32(x), f32(y), 1, rows, cols, st); });
}
BENCHMARK(BM_cuda_sum_cols_f32)->Arg(4096)->Arg(16384)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_cuda_transpose_f32(benchmark::State& state) {  // [n, n] -> [n, n]^T
  if (!need_device(state)) return;
  const int64_t n = state.range(0);
  Tensor x = random_device(n * n, 1), y = random_device(n * n, 2);
  run(state, 8.0 * n * n * 1e-9, "GB/s",
      [&](cudaStream_t st) { hl::cuda::transpose(x.raw(), y.raw(), 1, n, n, sizeof(float), st); });
}
BENCHMARK(BM_cuda_transpose_f32)->Arg(1024)->Arg(4096)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_cuda_uniform_f32(benchmark::State& state) {  // bytes written
  if (!need_device(state)) return;
  const int64_t n = state.range(0);
  Tensor y = random_device(n, 1);
  run(state, 4.0 * n * 1e-9, "GB/s",
      [&](cudaStream_t st) { hl::cuda::uniform_f32(7, 0, f32(y), n, 0.0f, 1.0f, st); });
}
BENCHMARK(BM_cuda_uniform_f32)->Arg(1 << 22)->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace
