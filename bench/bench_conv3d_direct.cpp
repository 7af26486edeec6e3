// The Multisensory network's convs that the direct kernel serves (kernels/cpu/conv3d_direct.h),
// at full size, timed through the direct kernel (BM_Conv3dDirect) and through the generic
// im2col + GEMM path it replaced (BM_Conv3dIm2col), in the same binary: run the two filters
// alternately (A B A B) and compare medians. Threads: $HL_NUM_THREADS
// (kernels/cpu/parallel.h); OpenBLAS on one thread as in the engine. Random values: the
// work does not depend on them.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "kernels/cpu/conv3d.h"
#include "kernels/cpu/conv3d_direct.h"

namespace {

using hl::cpu::Conv3dShape;

// Layer shapes: input [1, d, h, w, c_in], kernel, stride, c_out (specs/multisensory.md).
Conv3dShape layer(int64_t d, int64_t h, int64_t w, int64_t ci, int64_t kd, int64_t kh, int64_t kw, int64_t sd,
                  int64_t sh, int64_t sw, int64_t co) {
  Conv3dShape s;
  s.batch = 1, s.depth = d, s.height = h, s.width = w, s.c_in = ci, s.c_out = co;
  s.kd = kd, s.kh = kh, s.kw = kw, s.sd = sd, s.sh = sh, s.sw = sw;
  return s;
}

const Conv3dShape kImConv1 = layer(125, 224, 224, 3, 5, 7, 7, 2, 2, 2, 64);
const Conv3dShape kImConv2_2_1 = layer(63, 56, 56, 64, 3, 3, 3, 2, 2, 2, 64);
const Conv3dShape kImConv4_1_1 = layer(32, 28, 28, 128, 3, 3, 3, 2, 2, 2, 256);
// The sound convs along time: [1, N, 1, C] with a [k, 1] kernel, read as depth 1.
const Conv3dShape kSfConv1_1 = layer(1, 87588, 1, 2, 1, 65, 1, 1, 4, 1, 64);
const Conv3dShape kSfConv2_1_1 = layer(1, 5474, 1, 64, 1, 15, 1, 1, 4, 1, 128);
const Conv3dShape kSfConv3_1_1 = layer(1, 1369, 1, 128, 1, 15, 1, 1, 4, 1, 128);
const Conv3dShape kSfConv4_1_1 = layer(1, 343, 1, 128, 1, 15, 1, 1, 4, 1, 256);

template <bool kDirect>
void run(benchmark::State& state, const Conv3dShape& s) {
  if (kDirect && !hl::cpu::conv3d_direct_supported()) {
    state.SkipWithError("no AVX-512F on this CPU");
    return;
  }
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(s.batch * s.depth * s.height * s.width * s.c_in));
  std::vector<float> w(static_cast<size_t>(s.kd * s.kh * s.kw * s.c_in * s.c_out)), b(static_cast<size_t>(s.c_out));
  for (float& v : x) v = u(rng);
  for (float& v : w) v = u(rng);
  for (float& v : b) v = u(rng);
  const int64_t out = s.batch * s.pad_d().out * s.pad_h().out * s.pad_w().out * s.c_out;
  std::vector<float> y(static_cast<size_t>(out));
  for (auto _ : state) {
    if (kDirect) {
      hl::cpu::conv3d_direct_f32(s, x.data(), w.data(), b.data(), y.data());
    } else {
      hl::cpu::conv3d_im2col_f32(s, x.data(), w.data(), b.data(), y.data());
    }
    benchmark::DoNotOptimize(y.data());
  }
  // Direct-convolution multiply-adds x 2 (padding taps included) per second.
  state.counters["GFLOP/s"] = benchmark::Counter(
      2.0 * static_cast<double>(out) * static_cast<double>(s.kd * s.kh * s.kw * s.c_in) * state.iterations() / 1e9,
      benchmark::Counter::kIsRate);
}

void BM_Conv3dDirect(benchmark::State& state, const Conv3dShape* s) { run<true>(state, *s); }
void BM_Conv3dIm2col(benchmark::State& state, const Conv3dShape* s) { run<false>(state, *s); }

#define HL_CONV3D_LAYER(name, shape)                                                                   \
  BENCHMARK_CAPTURE(BM_Conv3dDirect, name, &shape)->Unit(benchmark::kMillisecond)->UseRealTime(); \
  BENCHMARK_CAPTURE(BM_Conv3dIm2col, name, &shape)->Unit(benchmark::kMillisecond)->UseRealTime()

HL_CONV3D_LAYER(im_conv1, kImConv1);
HL_CONV3D_LAYER(im_conv2_2_1, kImConv2_2_1);
HL_CONV3D_LAYER(im_conv4_1_1, kImConv4_1_1);
HL_CONV3D_LAYER(sf_conv1_1, kSfConv1_1);
HL_CONV3D_LAYER(sf_conv2_1_1, kSfConv2_1_1);
HL_CONV3D_LAYER(sf_conv3_1_1, kSfConv3_1_1);
HL_CONV3D_LAYER(sf_conv4_1_1, kSfConv4_1_1);

}  // namespace
