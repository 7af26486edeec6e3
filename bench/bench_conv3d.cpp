// The Multisensory network's 3x3x3 stride-1 "SAME" convolutions (specs/multisensory.md)
// one layer at a time, batch 1, random values: input d x h x w x c_in -> c_out.
// BM_Conv3dSame3/<layer> times conv3d_ndhwc_f32 (filter transformed inside every call, as
// before the network kept prepared filters); BM_Conv3dWinogradPrepared/<layer> times the
// prepared entry point (kernels/cpu/conv3d_winograd.h) with the filter transformed once
// outside the loop, as nets/multisensory.cpp can; its second argument forces F(2x2) (2) or
// F(4x4) (4), 0 lets winograd_tile_for choose. Threads: $HL_NUM_THREADS
// (kernels/cpu/parallel.h). Per-layer figures: docs/benchmarks.md.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "kernels/cpu/conv3d.h"
#include "kernels/cpu/conv3d_winograd.h"

namespace {

struct Layer {
  int64_t d, h, w, c_in, c_out;
};
// The Multisensory image path's 3x3x3 stride-1 layers (profile of one full clip):
// conv2_1_x, conv2_2_2, conv3_x, conv4_1_2 / conv4_2_x, conv5_1_1, conv5_1_2 / conv5_2_x.
constexpr Layer kLayers[] = {{63, 56, 56, 64, 64},    {32, 28, 28, 64, 64},    {32, 28, 28, 128, 128},
                             {16, 14, 14, 256, 256}, {16, 14, 14, 256, 512}, {16, 14, 14, 512, 512}};

hl::cpu::Conv3dShape shape_of(const Layer& l) {
  hl::cpu::Conv3dShape s;
  s.batch = 1, s.depth = l.d, s.height = l.h, s.width = l.w, s.c_in = l.c_in, s.c_out = l.c_out;
  s.kd = s.kh = s.kw = 3;
  return s;
}

std::vector<float> random_values(int64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = u(rng);
  return v;
}

void BM_Conv3dSame3(benchmark::State& state) {
  const Layer& l = kLayers[state.range(0)];
  const hl::cpu::Conv3dShape s = shape_of(l);
  const std::vector<float> x = random_values(l.d * l.h * l.w * l.c_in, 1), w = random_values(27 * l.c_in * l.c_out, 2),
                           b = random_values(l.c_out, 3);
  std::vector<float> y(static_cast<size_t>(l.d * l.h * l.w * l.c_out));
  for (auto _ : state) {
    hl::cpu::conv3d_ndhwc_f32(s, x.data(), w.data(), b.data(), y.data());
    benchmark::DoNotOptimize(y.data());
  }
}
BENCHMARK(BM_Conv3dSame3)->DenseRange(0, 5)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);

#ifdef HL_CONV3D_WINOGRAD_PREPARED
void BM_Conv3dWinogradPrepared(benchmark::State& state) {
  const Layer& l = kLayers[state.range(0)];
  const hl::cpu::Conv3dShape s = shape_of(l);
  const std::vector<float> x = random_values(l.d * l.h * l.w * l.c_in, 1), w = random_values(27 * l.c_in * l.c_out, 2),
                           b = random_values(l.c_out, 3);
  std::vector<float> y(static_cast<size_t>(l.d * l.h * l.w * l.c_out));
  const hl::cpu::WinogradFilter f =
      hl::cpu::prepare_winograd_filter(s, w.data(), static_cast<hl::cpu::WinogradTile>(state.range(1)));
  for (auto _ : state) {
    hl::cpu::conv3d_winograd_prepared_f32(s, f, x.data(), b.data(), y.data());
    benchmark::DoNotOptimize(y.data());
  }
}
BENCHMARK(BM_Conv3dWinogradPrepared)
    ->ArgsProduct({benchmark::CreateDenseRange(0, 5, 1), {0, 2, 4}})  // layer, tile (0: Auto, F(2x2), F(4x4))
    ->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);
#endif

}  // namespace
