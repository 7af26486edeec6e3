// Autograd op families, forward + backward through the tape (engine/autograd), on the
// shapes of the paper's training step (batch 300 segments of 150 frames, 385 features
// after the concatenation, MFCC [300, 600, 13], BiLSTM h = 20), and one Adam step over
// the all-feature model's 314,825 parameters. bench/peers/torch_autograd_cpu.py runs
// the same work in PyTorch under the same names; bench/compare.py prints the ratios.
// Each iteration: forward, backward from a fixed upstream gradient (or from the scalar
// loss), then the leaves' gradients are dropped (PyTorch peer: grad = None), so no
// iteration pays for accumulating into the previous one's gradients.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "engine/autograd/conv_pool.h"
#include "engine/autograd/linear.h"
#include "engine/autograd/loss.h"
#include "engine/autograd/lstm.h"
#include "engine/autograd/norm.h"
#include "engine/autograd/softmax.h"
#include "engine/optim/adam.h"
#include "engine/tensor.h"
#include "kernels/cpu/random.h"
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

namespace {

using hl::Shape;
using hl::Tensor;
namespace ag = hl::ag;

Tensor uniform(const Shape& shape, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  Tensor t = Tensor::empty(shape, hl::DType::F32);
  hl::cpu::uniform_f32(seed, 0, t.data<float>(), t.numel(), lo, hi);
  return t;
}
ag::Variable leaf(const Shape& shape, uint64_t seed, float scale = 1.0f) {
  return ag::Variable(uniform(shape, seed, -scale, scale), true);
}

// One forward + backward per iteration; `leaves` have their gradients dropped after it.
template <typename Forward>
void run(benchmark::State& state, const std::vector<ag::Variable>& leaves, const Tensor& seed, Forward forward) {
  for (auto _ : state) {
    ag::Variable y = forward();
    y.backward(seed);
    benchmark::DoNotOptimize(leaves.front().grad().raw());
    for (ag::Variable v : leaves) v.zero_grad();
  }
}

// Dense layer over every frame of the batch: x [300 * 150, in] -> 64.
void BM_ag_linear(benchmark::State& state) {
  const int64_t rows = 300 * 150, in = state.range(0), out = 64;
  ag::Variable x = leaf({rows, in}, 1), w = leaf({in, out}, 2, 0.1f), b = leaf({out}, 3);
  const Tensor seed = uniform({rows, out}, 4);
  run(state, {x, w, b}, seed, [&] { return ag::linear(x, w, b); });
  state.counters["GFLOP/s"] = benchmark::Counter(3 * 2.0 * rows * in * out * static_cast<double>(state.iterations()) * 1e-9,
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ag_linear)->Arg(385)->Arg(1024)->Unit(benchmark::kMillisecond);

// The MFCC branch's first conv: [300, 600, 13] -> 64, k = 3, 'same'.
void BM_ag_conv1d(benchmark::State& state) {
  const int64_t batch = 300, time = 600, cin = 13, cout = 64, k = 3;
  ag::Variable x = leaf({batch, time, cin}, 1), w = leaf({k, cin, cout}, 2, 0.2f), b = leaf({cout}, 3);
  const Tensor seed = uniform({batch, time, cout}, 4);
  run(state, {x, w, b}, seed, [&] { return ag::conv1d_same(x, w, b); });
  state.counters["GFLOP/s"] = benchmark::Counter(
      3 * 2.0 * batch * time * k * cin * cout * static_cast<double>(state.iterations()) * 1e-9,
      benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ag_conv1d)->Unit(benchmark::kMillisecond);

// Max pool 2 over time after that conv: [300, 600, 64] -> [300, 300, 64].
void BM_ag_maxpool(benchmark::State& state) {
  ag::Variable x = leaf({300, 600, 64}, 1);
  const Tensor seed = uniform({300, 300, 64}, 2);
  run(state, {x}, seed, [&] { return ag::maxpool1d_2(x); });
}
BENCHMARK(BM_ag_maxpool)->Unit(benchmark::kMillisecond);

// Softmax along the last dim of [300, 150, 150] (attention-sized rows).
void BM_ag_softmax(benchmark::State& state) {
  ag::Variable x = leaf({300, 150, 150}, 1, 4.0f);
  const Tensor seed = uniform({300, 150, 150}, 2);
  run(state, {x}, seed, [&] { return ag::softmax(x, 2); });
}
BENCHMARK(BM_ag_softmax)->Unit(benchmark::kMillisecond);

// Standard layer norm over the 385 features of every frame: [300 * 150, 385].
void BM_ag_layernorm(benchmark::State& state) {
  const int64_t rows = 300 * 150, d = 385;
  ag::Variable x = leaf({rows, d}, 1), g = leaf({d}, 2), b = leaf({d}, 3);
  const Tensor seed = uniform({rows, d}, 4);
  run(state, {x, g, b}, seed, [&] { return ag::layer_norm(x, g, b); });
}
BENCHMARK(BM_ag_layernorm)->Unit(benchmark::kMillisecond);

// The paper's recurrent layer: BiLSTM B = 300, T = 150, in = 385, h = 20, last forward ||
// last backward state [300, 40], no dropout (evaluation-mode masks), input and weight
// gradients.
void BM_ag_bilstm(benchmark::State& state) {
  const int64_t B = 300, T = 150, in = 385, h = 20;
  ag::Variable x = leaf({B, T, in}, 1);
  ag::LstmParams f{leaf({in, 4 * h}, 2, 0.1f), leaf({h, 4 * h}, 3, 0.2f), leaf({4 * h}, 4, 0.1f)};
  ag::LstmParams r{leaf({in, 4 * h}, 5, 0.1f), leaf({h, 4 * h}, 6, 0.2f), leaf({4 * h}, 7, 0.1f)};
  const Tensor seed = uniform({B, 2 * h}, 8);
  ag::BiLstmOptions o;
  run(state, {x, f.kernel, f.recurrent, f.bias, r.kernel, r.recurrent, r.bias}, seed,
      [&] { return ag::bilstm(x, f, r, o); });
}
BENCHMARK(BM_ag_bilstm)->Unit(benchmark::kMillisecond);

// The same with denormals flushed to zero (x86 MXCSR FTZ and DAZ on the calling thread,
// what torch.set_flush_denormal(True) sets; TensorFlow/Keras run this way by default).
// The gradient carried back through 150 steps decays into the denormal range, where x86
// arithmetic is many times slower; this variant shows how much of the time that costs.
// Not available (skipped) off x86.
void BM_ag_bilstm_ftz(benchmark::State& state) {
#if defined(__SSE__)
  const unsigned saved = _mm_getcsr();
  _mm_setcsr(saved | 0x8040u);  // FTZ (bit 15) | DAZ (bit 6)
  BM_ag_bilstm(state);
  _mm_setcsr(saved);
#else
  state.SkipWithError("flush-to-zero is set here only on x86");
#endif
}
BENCHMARK(BM_ag_bilstm_ftz)->Unit(benchmark::kMillisecond);

// CCC loss over n scores (300: one batch of segments), forward + backward to the scores.
void BM_ag_ccc_loss(benchmark::State& state) {
  const int64_t n = state.range(0);
  ag::Variable p = leaf({n}, 1);
  const ag::Variable y(uniform({n}, 2, 0.0f, 2.0f));
  run(state, {p}, Tensor(), [&] { return ag::ccc_loss(p, y); });
}
BENCHMARK(BM_ag_ccc_loss)->Arg(300)->Arg(45000)->Unit(benchmark::kMicrosecond);

// One Adam step (lr 1e-3, eps 1e-7) over parameters of the all-feature model's shapes
// (314,825 values in 24 tensors), gradients given.
void BM_ag_adam_step(benchmark::State& state) {
  const std::vector<Shape> shapes = {
      {1024, 64}, {64}, {2048, 64}, {64}, {128, 64}, {64},  {14, 14, 1, 64}, {64}, {64, 64}, {64}, {3, 13, 64},
      {64},       {3, 64, 128}, {128}, {385, 80}, {20, 80}, {80}, {385, 80}, {20, 80}, {80}, {40, 20}, {20},
      {20, 1},    {1}};
  std::vector<ag::Variable> params;
  int64_t count = 0;
  uint64_t seed = 1;
  for (const Shape& s : shapes) {
    params.push_back(leaf(s, seed++, 0.1f));
    params.back().data()->grad = uniform(s, seed++, -0.01f, 0.01f);
    count += s.numel();
  }
  if (count != 314825) state.SkipWithError("parameter count is not 314,825");
  hl::optim::Adam adam(params);
  for (auto _ : state) {
    adam.step();
    benchmark::DoNotOptimize(params.front().value().raw());
  }
  state.counters["params"] = static_cast<double>(count);
}
BENCHMARK(BM_ag_adam_step)->Unit(benchmark::kMicrosecond);

}  // namespace
