// The paper's training step on the CPU: the all-feature highlight model
// (nets/highlight_model.h, 314,825 parameters, BiLSTM h = 20), one batch of B segments
// of 150 frames with random inputs of the real shapes (googlenet [B, 150, 1024],
// places365 [B, 150, 2048], affect [B, 150, 128], cam [B, 150, 14, 14], faces
// [B, 150, 1], mfcc [B, 600, 13]) and labels in [0, 2]; per iteration: forward with
// dropout on (a fresh stream offset each step, as hl-train does), CCC loss, backward,
// Adam step, zero_grad. B = 300 is the paper's batch; B = 32 is a smaller point.
// Peer: bench/peers/torch_train_step.py (the same model built as in
// tests/golden/model_ref.py, dropout on, torch.optim.Adam(eps=1e-7)).
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <cstdint>
#include <map>

#include "engine/autograd/loss.h"
#include "engine/optim/adam.h"
#include "engine/tensor.h"
#include "kernels/cpu/host_cache.h"
#include "kernels/cpu/random.h"
#include "nets/highlight_model.h"
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

namespace {

hl::Tensor uniform(const hl::Shape& shape, uint64_t seed, float lo, float hi) {
  hl::Tensor t = hl::Tensor::empty(shape, hl::DType::F32);
  hl::cpu::uniform_f32(seed, 0, t.data<float>(), t.numel(), lo, hi);
  return t;
}
hl::Tensor normal(const hl::Shape& shape, uint64_t seed, float std) {
  hl::Tensor t = hl::Tensor::empty(shape, hl::DType::F32);
  hl::cpu::normal_f32(seed, 0, t.data<float>(), t.numel(), 0.0f, std);
  return t;
}

rusage process_usage() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u;
}
double seconds(const timeval& t) { return static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_usec); }

void BM_train_step(benchmark::State& state) {
  using hl::Feature;
  const int64_t B = state.range(0), T = 150;
  hl::HighlightModel model(hl::HighlightModelConfig::paper(hl::all_features()), 1);
  if (model.parameter_count() != 314825) state.SkipWithError("the all-feature model is not 314,825 parameters");
  hl::optim::Adam adam(model.parameters());  // lr 1e-3, eps 1e-7
  // The ranges of tests/golden/model_ref.py's random batches.
  const std::map<Feature, hl::Tensor> inputs = {
      {Feature::GoogLeNet, uniform({B, T, 1024}, 11, 0.0f, 2.0f)},
      {Feature::Places365, uniform({B, T, 2048}, 12, 0.0f, 2.0f)},
      {Feature::Affect, normal({B, T, 128}, 13, 1.0f)},
      {Feature::Cam, uniform({B, T, 14, 14}, 14, 0.0f, 1.0f)},
      {Feature::Faces, uniform({B, T, 1}, 15, 0.0f, 0.3f)},
      {Feature::Mfcc, normal({B, 4 * T, 13}, 16, 5.0f)},
  };
  const hl::ag::Variable labels(uniform({B}, 17, 0.0f, 2.0f));
  uint64_t offset = 0;
  const rusage before = process_usage();
  for (auto _ : state) {
    const hl::ag::Variable scores = model.forward(inputs, /*training=*/true, {7, offset});
    offset += model.dropout_words(B, T);
    const hl::ag::Variable loss = hl::ag::ccc_loss(scores, labels);
    loss.backward();
    adam.step();
    adam.zero_grad();
    benchmark::DoNotOptimize(loss.value().raw());
  }
  const rusage after = process_usage();
  state.counters["segments/s"] =
      benchmark::Counter(static_cast<double>(B) * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  // Page faults and kernel time per step, all threads: a warm step reuses its blocks
  // from the host block cache (kernels/cpu/host_cache.h) and should fault almost never.
  const double steps = static_cast<double>(state.iterations());
  state.counters["faults/step"] = static_cast<double>(after.ru_minflt - before.ru_minflt) / steps;
  state.counters["sys_ms/step"] = (seconds(after.ru_stime) - seconds(before.ru_stime)) * 1e3 / steps;
  state.counters["cached_MB"] = static_cast<double>(hl::host_cache::cached_bytes() >> 20);
}
BENCHMARK(BM_train_step)->Arg(32)->Arg(300)->Unit(benchmark::kMillisecond);

// The same step with denormals flushed to zero on the calling thread (x86 MXCSR FTZ |
// DAZ; the peer sets torch.set_flush_denormal(True)): gradients carried back through
// the 150 LSTM steps decay into the denormal range, which is slow on x86. OpenBLAS's
// worker threads (2-thread runs) keep their own setting. Skipped off x86.
void BM_train_step_ftz(benchmark::State& state) {
#if defined(__SSE__)
  const unsigned saved = _mm_getcsr();
  _mm_setcsr(saved | 0x8040u);  // FTZ (bit 15) | DAZ (bit 6)
  BM_train_step(state);
  _mm_setcsr(saved);
#else
  state.SkipWithError("flush-to-zero is set here only on x86");
#endif
}
BENCHMARK(BM_train_step_ftz)->Arg(32)->Arg(300)->Unit(benchmark::kMillisecond);

}  // namespace
