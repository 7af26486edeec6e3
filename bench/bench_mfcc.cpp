// MFCC throughput on the CPU: one minute of 16-kHz audio (noise) to the paper's MFCC rows
// (4 per video frame), single-threaded. Peers: bench/peers/mfcc_cpu.py runs the same
// minute through python_speech_features and torchaudio's MFCC transform.
#include <benchmark/benchmark.h>

#include <vector>

#include "kernels/cpu/mfcc.h"
#include "kernels/cpu/random.h"

namespace {

void BM_mfcc_60s(benchmark::State& state) {
  const int64_t n = 60 * 16000;
  std::vector<float> audio(static_cast<size_t>(n));
  hl::cpu::normal_f32(1, 0, audio.data(), n, 0.0f, 3000.0f);
  const hl::MfccParams p = hl::MfccParams::paper();
  const int64_t rows = 4 * 1798;  // one minute of video frames at 29.97 fps
  std::vector<float> out(static_cast<size_t>(rows * p.cepstra));
  for (auto _ : state) {
    hl::cpu::mfcc_f32(audio.data(), n, 0, rows, p, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["audio_s_per_s"] = benchmark::Counter(60.0 * static_cast<double>(state.iterations()),
                                                       benchmark::Counter::kIsRate);
}
BENCHMARK(BM_mfcc_60s)->Unit(benchmark::kMillisecond);

}  // namespace
