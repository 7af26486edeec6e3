// The paper's recurrent layer on a GPU: a bidirectional LSTM, batch 300 segments of 150
// frames, 385 inputs, 20 units per direction, full output sequence, forward + backward
// (dx and every weight gradient) — hl's kernels (kernels/cuda/lstm.h: one cuBLAS GEMM
// per direction for the input products, then ONE launch for both directions'
// recurrences, ONE launch for both backward recurrences, then the weight GEMMs) against
// cuDNN's LSTM (cudnnRNNForward / cudnnRNNBackwardData_v8 / cudnnRNNBackwardWeights_v8,
// CUDNN_BIDIRECTIONAL, single input bias as in our model), the library PyTorch's
// nn.LSTM calls, through bench/cuda/cudnn_bilstm.h (shared with the test that checks
// both give the same outputs and gradients on the same weights:
// tests/cuda/test_cuda_lstm_cudnn.cpp). Both in full f32: CUDNN_FMA_MATH, since
// CUDNN_DEFAULT_MATH would let cuDNN use TF32 tensor cores on an H100, while our cuBLAS
// calls use none.
// cuDNN is timed with its standard algorithm and, where it accepts the configuration,
// the persistent-kernel one (CUDNN_RNN_ALGO_PERSIST_STATIC) meant for small hidden sizes.
//
// Each iteration is timed with CUDA events on the engine's stream (manual time).
// Without a device every benchmark is skipped with a message.
#include <benchmark/benchmark.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "bench/cuda/cudnn_bilstm.h"
#include "engine/cuda_backend.h"
#include "engine/device.h"
#include "engine/tensor.h"
#include "kernels/cuda/lstm.h"
#include "kernels/cuda/random.h"

namespace {

using hl::Device;
using hl::Tensor;

constexpr int kBatch = 300, kTime = 150, kInput = 385, kHidden = 20;

cudaStream_t lstm_stream() { return static_cast<cudaStream_t>(hl::cuda_backend::current_stream(0)); }

void cuda_ok(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(status));
}

Tensor floats(int64_t n) { return Tensor::empty({n}, hl::DType::F32, Device::cuda()); }
Tensor random_floats(int64_t n, uint64_t seed, float limit) {
  Tensor t = floats(n);
  hl::cuda::uniform_f32(seed, 0, t.data<float>(), n, -limit, limit, lstm_stream());
  return t;
}

// Runs `step` once per iteration between two events and reports the GPU time.
template <class Step>
void timed_loop(benchmark::State& state, Step step) {
  cudaEvent_t start{}, stop{};
  cuda_ok(cudaEventCreate(&start), "cudaEventCreate");
  cuda_ok(cudaEventCreate(&stop), "cudaEventCreate");
  cudaStream_t s = lstm_stream();
  step(s);  // warm-up: handles, first-use allocations, cuBLAS heuristics
  cuda_ok(cudaStreamSynchronize(s), "cudaStreamSynchronize");
  for (auto _ : state) {
    cuda_ok(cudaEventRecord(start, s), "cudaEventRecord");
    step(s);
    cuda_ok(cudaEventRecord(stop, s), "cudaEventRecord");
    cuda_ok(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float ms = 0;
    cuda_ok(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
    state.SetIterationTime(ms * 1e-3);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  state.counters["segments/s"] = benchmark::Counter(kBatch, benchmark::Counter::kIsIterationInvariantRate);
}

bool skip_without_gpu(benchmark::State& state) {
  if (hl::cuda_available()) return false;
  state.SkipWithError("no CUDA device");
  return true;
}

// --- hl -------------------------------------------------------------------------------------

void BM_HlBiLstmForwardBackward(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  constexpr int64_t B = kBatch, T = kTime, I = kInput, H = kHidden, G = 4 * H;
  const hl::cpu::LstmShape shape{B, T, I, H, false};
  Tensor x = random_floats(B * T * I, 1, 1.0f), dy = random_floats(B * T * 2 * H, 2, 1.0f);
  Tensor hs = floats(B * T * 2 * H), dx[2] = {floats(B * T * I), floats(B * T * I)};
  struct Dir {
    Tensor w, u, b, cs, gates, prev, dz, dw, du, db;
  } d[2];
  for (int k = 0; k < 2; ++k) {
    d[k].w = random_floats(I * G, 10 + k, 0.1f), d[k].u = random_floats(H * G, 20 + k, 0.2f);
    d[k].b = random_floats(G, 30 + k, 0.1f);
    d[k].cs = floats(B * T * H), d[k].gates = floats(B * T * G), d[k].prev = floats(B * T * H);
    d[k].dz = floats(B * T * G), d[k].dw = floats(I * G), d[k].du = floats(H * G), d[k].db = floats(G);
  }
  hl::cuda::LstmForwardArgs fa[2];
  hl::cuda::LstmBackwardArgs ba[2];
  for (int k = 0; k < 2; ++k) {
    fa[k].x = x.data<float>(), fa[k].w = d[k].w.data<float>(), fa[k].u = d[k].u.data<float>();
    fa[k].b = d[k].b.data<float>(), fa[k].hs = hs.data<float>() + k * H, fa[k].cs = d[k].cs.data<float>();
    fa[k].gates = d[k].gates.data<float>(), fa[k].prev = d[k].prev.data<float>(), fa[k].reverse = k == 1;
    ba[k].x = x.data<float>(), ba[k].w = d[k].w.data<float>(), ba[k].u = d[k].u.data<float>();
    ba[k].cs = d[k].cs.data<float>(), ba[k].gates = d[k].gates.data<float>(), ba[k].prev = d[k].prev.data<float>();
    ba[k].dhs = dy.data<float>() + k * H, ba[k].dz = d[k].dz.data<float>(), ba[k].dx = dx[k].data<float>();
    ba[k].dw = d[k].dw.data<float>(), ba[k].du = d[k].du.data<float>(), ba[k].db = d[k].db.data<float>();
    ba[k].reverse = k == 1;
  }
  timed_loop(state, [&](cudaStream_t s) {
    hl::cuda::lstm_forward(shape, fa, 2, 2 * H, s);
    hl::cuda::lstm_backward(shape, ba, 2, 2 * H, s);
  });
  state.counters["batch_per_block"] = hl::cuda::lstm_batch_per_block(B, H, 2);
}
BENCHMARK(BM_HlBiLstmForwardBackward)->UseManualTime()->Unit(benchmark::kMillisecond);

void BM_HlBiLstmForward(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  constexpr int64_t B = kBatch, T = kTime, I = kInput, H = kHidden, G = 4 * H;
  const hl::cpu::LstmShape shape{B, T, I, H, false};
  Tensor x = random_floats(B * T * I, 1, 1.0f), hs = floats(B * T * 2 * H);
  Tensor w[2], u[2], b[2], cs[2], gates[2], prev[2];
  hl::cuda::LstmForwardArgs fa[2];
  for (int k = 0; k < 2; ++k) {
    w[k] = random_floats(I * G, 10 + k, 0.1f), u[k] = random_floats(H * G, 20 + k, 0.2f),
    b[k] = random_floats(G, 30 + k, 0.1f);
    cs[k] = floats(B * T * H), gates[k] = floats(B * T * G), prev[k] = floats(B * T * H);
    fa[k].x = x.data<float>(), fa[k].w = w[k].data<float>(), fa[k].u = u[k].data<float>(), fa[k].b = b[k].data<float>();
    fa[k].hs = hs.data<float>() + k * H, fa[k].cs = cs[k].data<float>(), fa[k].gates = gates[k].data<float>();
    fa[k].prev = prev[k].data<float>(), fa[k].reverse = k == 1;
  }
  timed_loop(state, [&](cudaStream_t s) { hl::cuda::lstm_forward(shape, fa, 2, 2 * H, s); });
}
BENCHMARK(BM_HlBiLstmForward)->UseManualTime()->Unit(benchmark::kMillisecond);

// --- cuDNN ----------------------------------------------------------------------------------

void BM_CudnnBiLstm(benchmark::State& state, cudnnRNNAlgo_t algo, bool with_backward) {
  if (skip_without_gpu(state)) return;
  try {
    hl::bench::CudnnBiLstm rnn({kBatch, kTime, kInput, kHidden}, algo, CUDNN_FMA_MATH, lstm_stream());
    // Random weights straight into cuDNN's weight space (the test, not the benchmark,
    // compares the two implementations on the same weights).
    const auto weight_count = static_cast<int64_t>(rnn.weight_bytes() / sizeof(float));
    hl::cuda::uniform_f32(40, 0, static_cast<float*>(rnn.weights()), weight_count, -0.1f, 0.1f, lstm_stream());
    Tensor x = random_floats(int64_t{kBatch} * kTime * kInput, 1, 1.0f);
    Tensor dy = random_floats(int64_t{kBatch} * kTime * 2 * kHidden, 2, 1.0f);
    Tensor y = floats(int64_t{kBatch} * kTime * 2 * kHidden), dx = floats(int64_t{kBatch} * kTime * kInput);
    timed_loop(state, [&](cudaStream_t s) {
      rnn.forward(x.data<float>(), y.data<float>(), s);
      if (with_backward) rnn.backward(x.data<float>(), y.data<float>(), dy.data<float>(), dx.data<float>(), s);
    });
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());  // e.g. the persistent algorithm refusing this configuration
  }
}
BENCHMARK_CAPTURE(BM_CudnnBiLstm, standard_forward_backward, CUDNN_RNN_ALGO_STANDARD, true)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_CudnnBiLstm, persist_static_forward_backward, CUDNN_RNN_ALGO_PERSIST_STATIC, true)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_CudnnBiLstm, standard_forward, CUDNN_RNN_ALGO_STANDARD, false)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_CudnnBiLstm, persist_static_forward, CUDNN_RNN_ALGO_PERSIST_STATIC, false)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
