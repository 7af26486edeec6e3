// The paper's recurrent layer on a GPU: a bidirectional LSTM, batch 300 segments of 150
// frames, 385 inputs, 20 units per direction, full output sequence, forward + backward
// (dx and every weight gradient) — hl's kernels (kernels/cuda/lstm.h: one cuBLAS GEMM
// per direction for the input products, then ONE launch for both directions'
// recurrences, ONE launch for both backward recurrences, then the weight GEMMs) against
// cuDNN's LSTM (cudnnRNNForward / cudnnRNNBackwardData_v8 / cudnnRNNBackwardWeights_v8,
// CUDNN_BIDIRECTIONAL, single input bias as in our model), the library PyTorch's
// nn.LSTM calls. Both in full f32 (CUDNN_DEFAULT_MATH: no TF32, like our cuBLAS calls).
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
#include <vector>

#include "engine/cuda_backend.h"
#include "engine/device.h"
#include "engine/tensor.h"
#include "kernels/cuda/handles.h"
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
void cudnn_ok(cudnnStatus_t status, const char* what) {
  if (status != CUDNN_STATUS_SUCCESS) throw std::runtime_error(std::string(what) + ": " + cudnnGetErrorString(status));
}

Tensor floats(int64_t n) { return Tensor::empty({n}, hl::DType::F32, Device::cuda()); }
Tensor random_floats(int64_t n, uint64_t seed, float limit) {
  Tensor t = floats(n);
  hl::cuda::uniform_f32(seed, 0, t.data<float>(), n, -limit, limit, lstm_stream());
  return t;
}
Tensor bytes(size_t n) { return Tensor::empty({static_cast<int64_t>(n > 0 ? n : 1)}, hl::DType::U8, Device::cuda()); }

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

// One bidirectional single-layer cuDNN LSTM with everything it needs, for `algo`.
class CudnnBiLstm {
 public:
  explicit CudnnBiLstm(cudnnRNNAlgo_t algo) {
    cudaStream_t s = lstm_stream();
    handle_ = hl::cuda::cudnn_handle(s);
    cudnn_ok(cudnnCreateDropoutDescriptor(&dropout_), "cudnnCreateDropoutDescriptor");
    size_t state_bytes = 0;
    cudnn_ok(cudnnDropoutGetStatesSize(handle_, &state_bytes), "cudnnDropoutGetStatesSize");
    dropout_states_ = bytes(state_bytes);
    cudnn_ok(cudnnSetDropoutDescriptor(dropout_, handle_, 0.0f, dropout_states_.raw(), state_bytes, 0),
             "cudnnSetDropoutDescriptor");
    cudnn_ok(cudnnCreateRNNDescriptor(&rnn_), "cudnnCreateRNNDescriptor");
    cudnn_ok(cudnnSetRNNDescriptor_v8(rnn_, algo, CUDNN_LSTM, CUDNN_RNN_SINGLE_INP_BIAS, CUDNN_BIDIRECTIONAL,
                                      CUDNN_LINEAR_INPUT, CUDNN_DATA_FLOAT, CUDNN_DATA_FLOAT, CUDNN_DEFAULT_MATH,
                                      kInput, kHidden, kHidden, 1, dropout_, CUDNN_RNN_PADDED_IO_DISABLED),
             "cudnnSetRNNDescriptor_v8");
    std::vector<int> lengths(kBatch, kTime);
    cudnn_ok(cudnnCreateRNNDataDescriptor(&x_desc_), "cudnnCreateRNNDataDescriptor");
    cudnn_ok(cudnnSetRNNDataDescriptor(x_desc_, CUDNN_DATA_FLOAT, CUDNN_RNN_DATA_LAYOUT_BATCH_MAJOR_UNPACKED, kTime,
                                       kBatch, kInput, lengths.data(), nullptr),
             "cudnnSetRNNDataDescriptor x");
    cudnn_ok(cudnnCreateRNNDataDescriptor(&y_desc_), "cudnnCreateRNNDataDescriptor");
    cudnn_ok(cudnnSetRNNDataDescriptor(y_desc_, CUDNN_DATA_FLOAT, CUDNN_RNN_DATA_LAYOUT_BATCH_MAJOR_UNPACKED, kTime,
                                       kBatch, 2 * kHidden, lengths.data(), nullptr),
             "cudnnSetRNNDataDescriptor y");
    cudnn_ok(cudnnCreateTensorDescriptor(&h_desc_), "cudnnCreateTensorDescriptor");
    const int dims[3] = {2, kBatch, kHidden}, strides[3] = {kBatch * kHidden, kHidden, 1};
    cudnn_ok(cudnnSetTensorNdDescriptor(h_desc_, CUDNN_DATA_FLOAT, 3, dims, strides), "cudnnSetTensorNdDescriptor");
    seq_lengths_ = Tensor::empty({kBatch}, hl::DType::I32, Device::cuda());
    cuda_ok(cudaMemcpy(seq_lengths_.raw(), lengths.data(), kBatch * sizeof(int), cudaMemcpyHostToDevice), "cudaMemcpy");
    cudnn_ok(cudnnGetRNNWeightSpaceSize(handle_, rnn_, &weight_bytes_), "cudnnGetRNNWeightSpaceSize");
    cudnn_ok(cudnnGetRNNTempSpaceSizes(handle_, rnn_, CUDNN_FWD_MODE_TRAINING, x_desc_, &work_bytes_, &reserve_bytes_),
             "cudnnGetRNNTempSpaceSizes");
    weights_ = random_floats(static_cast<int64_t>(weight_bytes_ / sizeof(float)), 40, 0.1f);
    dweights_ = bytes(weight_bytes_), work_ = bytes(work_bytes_), reserve_ = bytes(reserve_bytes_);
    x_ = random_floats(int64_t{kBatch} * kTime * kInput, 1, 1.0f);
    dy_ = random_floats(int64_t{kBatch} * kTime * 2 * kHidden, 2, 1.0f);
    y_ = floats(int64_t{kBatch} * kTime * 2 * kHidden), dx_ = floats(int64_t{kBatch} * kTime * kInput);
  }
  ~CudnnBiLstm() {
    cudnnDestroyTensorDescriptor(h_desc_);
    cudnnDestroyRNNDataDescriptor(y_desc_);
    cudnnDestroyRNNDataDescriptor(x_desc_);
    cudnnDestroyRNNDescriptor(rnn_);
    cudnnDestroyDropoutDescriptor(dropout_);
  }
  CudnnBiLstm(const CudnnBiLstm&) = delete;
  CudnnBiLstm& operator=(const CudnnBiLstm&) = delete;

  void forward(cudaStream_t s) {
    handle_ = hl::cuda::cudnn_handle(s);
    cudnn_ok(cudnnRNNForward(handle_, rnn_, CUDNN_FWD_MODE_TRAINING, seq_lengths_.data<int32_t>(), x_desc_, x_.raw(),
                             y_desc_, y_.raw(), h_desc_, nullptr, nullptr, h_desc_, nullptr, nullptr, weight_bytes_,
                             weights_.raw(), work_bytes_, work_.raw(), reserve_bytes_, reserve_.raw()),
             "cudnnRNNForward");
  }
  void backward(cudaStream_t s) {
    cudnn_ok(cudnnRNNBackwardData_v8(handle_, rnn_, seq_lengths_.data<int32_t>(), y_desc_, y_.raw(), dy_.raw(), x_desc_,
                                     dx_.raw(), h_desc_, nullptr, nullptr, nullptr, h_desc_, nullptr, nullptr, nullptr,
                                     weight_bytes_, weights_.raw(), work_bytes_, work_.raw(), reserve_bytes_,
                                     reserve_.raw()),
             "cudnnRNNBackwardData_v8");
    // CUDNN_WGRAD_MODE_ADD accumulates: start from zero, as a training step would.
    cuda_ok(cudaMemsetAsync(dweights_.raw(), 0, weight_bytes_, s), "cudaMemsetAsync");
    cudnn_ok(cudnnRNNBackwardWeights_v8(handle_, rnn_, CUDNN_WGRAD_MODE_ADD, seq_lengths_.data<int32_t>(), x_desc_,
                                        x_.raw(), h_desc_, nullptr, y_desc_, y_.raw(), weight_bytes_, dweights_.raw(),
                                        work_bytes_, work_.raw(), reserve_bytes_, reserve_.raw()),
             "cudnnRNNBackwardWeights_v8");
  }

 private:
  cudnnHandle_t handle_{};
  cudnnDropoutDescriptor_t dropout_{};
  cudnnRNNDescriptor_t rnn_{};
  cudnnRNNDataDescriptor_t x_desc_{}, y_desc_{};
  cudnnTensorDescriptor_t h_desc_{};
  size_t weight_bytes_ = 0, work_bytes_ = 0, reserve_bytes_ = 0;
  Tensor dropout_states_, seq_lengths_, weights_, dweights_, work_, reserve_, x_, dy_, y_, dx_;
};

void BM_CudnnBiLstm(benchmark::State& state, cudnnRNNAlgo_t algo, bool with_backward) {
  if (skip_without_gpu(state)) return;
  try {
    CudnnBiLstm rnn(algo);
    timed_loop(state, [&](cudaStream_t s) {
      rnn.forward(s);
      if (with_backward) rnn.backward(s);
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
