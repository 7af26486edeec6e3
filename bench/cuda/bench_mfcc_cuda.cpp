// Throughput of the CUDA MFCC (kernels/cuda/mfcc.h): one hour of 16-kHz audio (noise, in
// the int16 amplitude scale) to the paper's MFCC rows, 4 per video frame at 29.97 fps
// (431,568 rows). bench/peers/torch_cuda.py runs torchaudio's transforms.MFCC on the same
// GPU with the same sizes under the same name, so bench/compare.py prints the ratio.
//
// What is timed: cuda::mfcc_f32 on samples already on the device (framing, the batched
// cuFFT R2C and the fused rows kernel for every chunk), by CUDA events on the engine's
// stream; the tables are uploaded and the scratch allocated once, and a first call
// before the timing makes the cuFFT plans. Counters: rows/s and audio seconds per
// second. Without a device the benchmark is skipped with a message.
#include <benchmark/benchmark.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/cuda_backend.h"
#include "engine/device.h"
#include "engine/tensor.h"
#include "kernels/cpu/random.h"
#include "kernels/cuda/mfcc.h"

namespace {

using hl::Device;
using hl::Tensor;

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(status));
}

template <typename T>
Tensor to_device(const std::vector<T>& v, hl::DType dtype) {
  Tensor host = Tensor::empty({static_cast<int64_t>(v.size())}, dtype);
  std::copy(v.begin(), v.end(), host.data<T>());
  return host.to(Device::cuda());
}

void BM_cuda_mfcc_1h(benchmark::State& state) {
  if (!hl::cuda_available()) {
    state.SkipWithError("no CUDA device visible");
    return;
  }
  const int64_t n = 3600 * 16000;
  std::vector<float> audio(static_cast<size_t>(n));
  hl::cpu::normal_f32(1, 0, audio.data(), n, 0.0f, 3000.0f);
  const hl::MfccParams p = hl::MfccParams::paper();
  const int64_t rows = 4 * (3600 * 30000 / 1001);  // every video frame of the hour, 4 rows each
  const hl::cuda::MfccTable table = hl::cuda::mfcc_table(p);
  const Tensor x = to_device(audio, hl::DType::F32), ints = to_device(table.ints, hl::DType::I32),
               floats = to_device(table.floats, hl::DType::F32);
  Tensor scratch = Tensor::empty({hl::cuda::mfcc_scratch_bytes(p, rows)}, hl::DType::U8, Device::cuda());
  Tensor out = Tensor::empty({rows, p.cepstra}, hl::DType::F32, Device::cuda());
  const auto stream = static_cast<cudaStream_t>(hl::cuda_backend::current_stream(0));
  auto call = [&] {
    hl::cuda::mfcc_f32(x.data<float>(), n, 0, rows, table, ints.data<int32_t>(), floats.data<float>(),
                       scratch.raw(), out.data<float>(), stream);
  };
  call();  // the cuFFT plans
  cudaEvent_t start{}, stop{};
  check(cudaEventCreate(&start), "cudaEventCreate");
  check(cudaEventCreate(&stop), "cudaEventCreate");
  double total = 0;
  for (auto _ : state) {
    check(cudaEventRecord(start, stream), "cudaEventRecord");
    call();
    check(cudaEventRecord(stop, stream), "cudaEventRecord");
    check(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float ms = 0;
    check(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
    state.SetIterationTime(ms * 1e-3);
    total += ms * 1e-3;
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  const double calls = static_cast<double>(state.iterations());
  if (total > 0) {
    state.counters["rows_per_s"] = static_cast<double>(rows) * calls / total;
    state.counters["audio_s_per_s"] = 3600.0 * calls / total;
  }
}
BENCHMARK(BM_cuda_mfcc_1h)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace
