#include "nets/mtcnn_conv.h"

#include <algorithm>
#include <string>

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#endif

#include "engine/error.h"

namespace hl::mtcnn {

namespace {

// The baseline version (CPUs without AVX2 + FMA): PX output pixels of one row,
// NP channel sums each. The sums start at 0 and run over (ky, kx, i) in order,
// and the bias comes last: the order of an im2col + sgemm and its bias
// epilogue, which this replaced. The vector versions below add the same terms
// in the same order with one fused multiply-add each (as OpenBLAS's FMA kernels
// do).
template <int NP, int PX>
[[gnu::always_inline]] inline void pixels(const PackedConv& c, const float* x, int64_t w, int64_t oy, int64_t ox,
                                          float* y) {
  float acc[PX][NP] = {};
  const int64_t row = c.k * c.c_in;  // the contiguous input values under one kernel row
  for (int64_t ky = 0; ky < c.k; ++ky) {
    const float* xr = x + ((oy + ky) * w + ox) * c.c_in;
    const float* wk = c.w.data() + ky * row * NP;
    for (int64_t j = 0; j < row; ++j) {
      const float* wj = wk + j * NP;
      for (int p = 0; p < PX; ++p) {
        const float v = xr[p * c.c_in + j];
        for (int o = 0; o < NP; ++o) acc[p][o] += v * wj[o];
      }
    }
  }
  const int64_t ow = w - c.k + 1;
  for (int p = 0; p < PX; ++p) {
    float* dst = y + (oy * ow + ox + p) * c.c_out;
    for (int o = 0; o < NP; ++o) acc[p][o] += c.bias[o];
    if (!c.alpha.empty())
      for (int o = 0; o < NP; ++o) acc[p][o] = std::max(acc[p][o], 0.0f) + c.alpha[o] * std::min(acc[p][o], 0.0f);
    for (int64_t o = 0; o < c.c_out; ++o) dst[o] = acc[p][o];
  }
}

template <int NP, int PX>
[[gnu::always_inline]] inline void conv_rows(const PackedConv& c, const float* x, int64_t h, int64_t w, float* y) {
  const int64_t oh = h - c.k + 1, ow = w - c.k + 1;
  for (int64_t oy = 0; oy < oh; ++oy) {
    int64_t ox = 0;
    for (; ox + PX <= ow; ox += PX) pixels<NP, PX>(c, x, w, oy, ox, y);
    for (; ox < ow; ++ox) pixels<NP, 1>(c, x, w, oy, ox, y);
  }
}

// The project builds for baseline x86-64, whose 4-wide SSE2 would leave most of
// the core idle: an AVX2 + FMA version is compiled beside the baseline one and
// chosen when the program runs (the FMA version rounds like OpenBLAS's kernels;
// the baseline one like plain C, a difference of ~1e-7 relative).
using ConvFn = void (*)(const PackedConv&, const float*, int64_t, int64_t, float*);

template <int NP, int PX>
void conv_baseline(const PackedConv& c, const float* x, int64_t h, int64_t w, float* y) {
  conv_rows<NP, PX>(c, x, h, w, y);
}

#if defined(__GNUC__) && defined(__x86_64__)
// pixels<NP, PX> in AVX2 intrinsics: NP / 8 vectors of sums per pixel, each
// input value broadcast once and multiplied into them (GCC's own vectorisation
// of the loop above kept the sums in memory). The same terms in the same order,
// one FMA each.
template <int NP, int PX>
__attribute__((target("avx2,fma"), always_inline)) inline void pixels_avx2(const PackedConv& c, const float* x,
                                                                           int64_t w, int64_t oy, int64_t ox,
                                                                           float* y) {
  constexpr int NV = NP / 8;
  __m256 acc[PX][NV];
  for (int p = 0; p < PX; ++p)
    for (int v = 0; v < NV; ++v) acc[p][v] = _mm256_setzero_ps();
  const int64_t row = c.k * c.c_in;
  for (int64_t ky = 0; ky < c.k; ++ky) {
    const float* xr = x + ((oy + ky) * w + ox) * c.c_in;
    const float* wk = c.w.data() + ky * row * NP;
    for (int64_t j = 0; j < row; ++j) {
      __m256 wv[NV];
      for (int v = 0; v < NV; ++v) wv[v] = _mm256_loadu_ps(wk + j * NP + v * 8);
      for (int p = 0; p < PX; ++p) {
        const __m256 xv = _mm256_broadcast_ss(xr + p * c.c_in + j);
        for (int v = 0; v < NV; ++v) acc[p][v] = _mm256_fmadd_ps(xv, wv[v], acc[p][v]);
      }
    }
  }
  const int64_t ow = w - c.k + 1;
  for (int p = 0; p < PX; ++p) {
    alignas(32) float sums[NP];
    for (int v = 0; v < NV; ++v) _mm256_store_ps(sums + v * 8, acc[p][v]);
    for (int o = 0; o < NP; ++o) sums[o] += c.bias[o];
    if (!c.alpha.empty())
      for (int o = 0; o < NP; ++o) sums[o] = std::max(sums[o], 0.0f) + c.alpha[o] * std::min(sums[o], 0.0f);
    float* dst = y + (oy * ow + ox + p) * c.c_out;
    for (int64_t o = 0; o < c.c_out; ++o) dst[o] = sums[o];
  }
}

template <int NP, int PX>
__attribute__((target("avx2,fma"))) void conv_avx2(const PackedConv& c, const float* x, int64_t h, int64_t w,
                                                   float* y) {
  const int64_t oh = h - c.k + 1, ow = w - c.k + 1;
  for (int64_t oy = 0; oy < oh; ++oy) {
    int64_t ox = 0;
    for (; ox + PX <= ow; ox += PX) pixels_avx2<NP, PX>(c, x, w, oy, ox, y);
    for (; ox < ow; ++ox) pixels_avx2<NP, 1>(c, x, w, oy, ox, y);
  }
}

// GCC 12's own _mm512_max_ps / _mm512_min_ps pass _mm512_undefined_ps() as the
// unused merge source, which -Wmaybe-uninitialized reports as ours.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// The same with 16-float AVX-512 vectors (NP = 16 or 32): twice the products
// per instruction.
template <int NP, int PX>
__attribute__((target("avx512f,avx2,fma"), always_inline)) inline void pixels_avx512(const PackedConv& c,
                                                                                     const float* x, int64_t w,
                                                                                     int64_t oy, int64_t ox, float* y) {
  constexpr int NV = NP / 16;
  __m512 acc[PX][NV];
  for (int p = 0; p < PX; ++p)
    for (int v = 0; v < NV; ++v) acc[p][v] = _mm512_setzero_ps();
  const int64_t row = c.k * c.c_in;
  for (int64_t ky = 0; ky < c.k; ++ky) {
    const float* xr = x + ((oy + ky) * w + ox) * c.c_in;
    const float* wk = c.w.data() + ky * row * NP;
    for (int64_t j = 0; j < row; ++j) {
      __m512 wv[NV];
      for (int v = 0; v < NV; ++v) wv[v] = _mm512_loadu_ps(wk + j * NP + v * 16);
      for (int p = 0; p < PX; ++p) {
        const __m512 xv = _mm512_set1_ps(xr[p * c.c_in + j]);
        for (int v = 0; v < NV; ++v) acc[p][v] = _mm512_fmadd_ps(xv, wv[v], acc[p][v]);
      }
    }
  }
  // The epilogue in vectors too (for conv1's 27 products per pixel a scalar one
  // took as long as the sums): the same operations as the scalar one, so the
  // same roundings.
  const int64_t ow = w - c.k + 1;
  const __m512 zero = _mm512_setzero_ps();
  for (int p = 0; p < PX; ++p) {
    float* dst = y + (oy * ow + ox + p) * c.c_out;
    for (int v = 0; v < NV; ++v) {
      __m512 s = _mm512_add_ps(acc[p][v], _mm512_loadu_ps(c.bias.data() + v * 16));
      if (!c.alpha.empty())
        s = _mm512_add_ps(_mm512_max_ps(s, zero),
                          _mm512_mul_ps(_mm512_loadu_ps(c.alpha.data() + v * 16), _mm512_min_ps(s, zero)));
      const int64_t lanes = std::min<int64_t>(16, c.c_out - v * 16);
      if (lanes > 0) _mm512_mask_storeu_ps(dst + v * 16, static_cast<__mmask16>((1u << lanes) - 1u), s);
    }
  }
}

template <int NP, int PX>
__attribute__((target("avx512f,avx2,fma"))) void conv_avx512(const PackedConv& c, const float* x, int64_t h, int64_t w,
                                                             float* y) {
  const int64_t oh = h - c.k + 1, ow = w - c.k + 1;
  for (int64_t oy = 0; oy < oh; ++oy) {
    int64_t ox = 0;
    for (; ox + PX <= ow; ox += PX) pixels_avx512<NP, PX>(c, x, w, oy, ox, y);
    for (; ox < ow; ++ox) pixels_avx512<NP, 1>(c, x, w, oy, ox, y);
  }
}
#pragma GCC diagnostic pop
#endif

bool cpu_has(ConvIsa isa) {
#if defined(__GNUC__) && defined(__x86_64__)
  __builtin_cpu_init();
  const bool fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (isa == ConvIsa::Avx2) return fma;
  if (isa == ConvIsa::Avx512) return fma && __builtin_cpu_supports("avx512f");
#endif
  return isa == ConvIsa::Baseline || isa == ConvIsa::Best;
}

// The version for `isa` (Best: the widest this CPU has; NP = 8 has no AVX-512
// version, it runs the AVX2 one). PX: output pixels per register block (8 to 10
// vectors of sums).
template <int NP, int PX, int PX512>
ConvFn pick(ConvIsa isa) {
#if defined(__GNUC__) && defined(__x86_64__)
  if (isa == ConvIsa::Best) {
    static const ConvFn best = pick<NP, PX, PX512>(cpu_has(ConvIsa::Avx512) ? ConvIsa::Avx512
                                                   : cpu_has(ConvIsa::Avx2) ? ConvIsa::Avx2
                                                                            : ConvIsa::Baseline);
    return best;
  }
  if constexpr (NP >= 16)
    if (isa == ConvIsa::Avx512) return &conv_avx512<NP, PX512>;
  if (isa == ConvIsa::Avx2 || isa == ConvIsa::Avx512) return &conv_avx2<NP, PX>;
#else
  (void)isa;
#endif
  return &conv_baseline<NP, PX>;
}

}  // namespace

PackedConv pack_conv(const float* weight, const float* bias, const float* alpha, int64_t k, int64_t c_in,
                     int64_t c_out) {
  if (k < 1 || c_in < 1 || c_out < 1 || c_out > 32)
    throw Error("mtcnn conv: k " + std::to_string(k) + ", c_in " + std::to_string(c_in) + ", c_out " +
                std::to_string(c_out) + " (at most 32 output channels)");
  PackedConv c;
  c.k = k, c.c_in = c_in, c.c_out = c_out;
  c.np = c_out <= 8 ? 8 : c_out <= 16 ? 16 : 32;
  c.w.assign(static_cast<size_t>(k * k * c_in * c.np), 0.0f);
  for (int64_t r = 0; r < k * k * c_in; ++r)
    for (int64_t o = 0; o < c_out; ++o) c.w[r * c.np + o] = weight[r * c_out + o];
  c.bias.assign(static_cast<size_t>(c.np), 0.0f);
  std::copy(bias, bias + c_out, c.bias.begin());
  if (alpha) {
    c.alpha.assign(static_cast<size_t>(c.np), 0.0f);
    std::copy(alpha, alpha + c_out, c.alpha.begin());
  }
  return c;
}

bool conv_isa_available(ConvIsa isa) { return cpu_has(isa); }

void conv_valid_prelu(const PackedConv& c, const float* x, int64_t h, int64_t w, float* y, ConvIsa isa) {
  if (h < c.k || w < c.k)
    throw Error("mtcnn conv: input " + std::to_string(h) + "x" + std::to_string(w) + " is smaller than the kernel");
  if (!cpu_has(isa)) throw Error("mtcnn conv: this CPU lacks the instructions asked for");
  if (c.np == 8) {
    pick<8, 8, 8>(isa)(c, x, h, w, y);
  } else if (c.np == 16) {
    pick<16, 4, 8>(isa)(c, x, h, w, y);
  } else {
    pick<32, 2, 4>(isa)(c, x, h, w, y);
  }
}

}  // namespace hl::mtcnn
