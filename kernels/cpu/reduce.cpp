// Reductions along one dimension of [outer, n, inner].
#include "kernels/cpu/reduce.h"

#include <algorithm>
#include <cmath>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "kernels/cpu/lane_reduce.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/vec_math.h"

namespace hl::cpu {

namespace {

#if defined(__x86_64__)
// One row's sum on AVX-512 (issue 18 item 12: the all-double lane sum ran at 0.77-0.82x
// PyTorch's float sum, one thread): 64 floats per step are added in pairs in float
// lanes, ((a + b) + (c + d)) per lane, and those partials go to double accumulators.
// Each partial carries two roundings of 2^-24, so the error is at most ~1.2e-7 of
// sum |x|, whatever n (the final rounding to float adds ~6e-8 of |sum|);
// half the conversions and adds of the double lanes.
__attribute__((target("avx512f"))) double row_sum_avx512(const float* __restrict x, int64_t n) {
  __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    const __m512 a = _mm512_add_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(x + i + 16));
    const __m512 b = _mm512_add_ps(_mm512_loadu_ps(x + i + 32), _mm512_loadu_ps(x + i + 48));
    const __m512 s = _mm512_add_ps(a, b);
    // The maskz forms (all lanes kept) and no _mm512_reduce_add_pd: GCC 12's plain ones
    // warn of an uninitialised value inside its own header.
    const __m512d bits = _mm512_castps_pd(s);
    lo = _mm512_add_pd(lo, _mm512_maskz_cvtps_pd(0xFF, _mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(0xFF, bits, 0))));
    hi = _mm512_add_pd(hi, _mm512_maskz_cvtps_pd(0xFF, _mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(0xFF, bits, 1))));
  }
  alignas(64) double acc[8];
  _mm512_store_pd(acc, _mm512_add_pd(lo, hi));
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])) + lanes::sum(x + i, n - i);
}
// Asked once, on first use (__builtin_cpu_init: safe even from another static initialiser).
bool has_avx512() {
  static const bool yes = (__builtin_cpu_init(), __builtin_cpu_supports("avx512f"));
  return yes;
}
#endif

// Sums in double, walking n in the outer loop so reads stay contiguous along inner; a
// reduction over the last dimension (inner == 1, a row sum) sums each row in lanes.
HL_SIMD_CLONES void sum_dim_double(const float* x, double* acc, int64_t outer, int64_t n, int64_t inner) {
  if (inner == 1) {
#if defined(__x86_64__)
    if (has_avx512()) {
      for (int64_t o = 0; o < outer; ++o) acc[o] = row_sum_avx512(x + o * n, n);
      return;
    }
#endif
    for (int64_t o = 0; o < outer; ++o) acc[o] = lanes::sum(x + o * n, n);
    return;
  }
  for (int64_t o = 0; o < outer; ++o) {
    double* a = acc + o * inner;
    for (int64_t j = 0; j < inner; ++j) a[j] = 0.0;
    for (int64_t r = 0; r < n; ++r) {
      const float* row = x + (o * n + r) * inner;
      for (int64_t j = 0; j < inner; ++j) a[j] += row[j];
    }
  }
}

// y[o, j] = (sum over n) / divisor, for o in [0, outer): the outer slices are
// independent, so they are split over the threads (kernels/cpu/parallel.h) when there
// are at least kElementwiseGrain inputs per thread; each slice is summed the same way
// whatever the split, so the result does not depend on the thread count.
void sum_dim_divided(const float* x, float* y, int64_t outer, int64_t n, int64_t inner, double divisor) {
  const int64_t per_outer = std::max<int64_t>(n * inner, 1);
  parallel_for(outer, kElementwiseGrain / per_outer + 1, [&](int64_t o0, int64_t o1) {
    std::vector<double> acc(static_cast<size_t>((o1 - o0) * inner));
    sum_dim_double(x + o0 * n * inner, acc.data(), o1 - o0, n, inner);
    float* out = y + o0 * inner;
    for (size_t i = 0; i < acc.size(); ++i) out[i] = static_cast<float>(acc[i] / divisor);
  });
}

}  // namespace

void sum_dim_f32(const float* x, float* y, int64_t outer, int64_t n, int64_t inner) {
  sum_dim_divided(x, y, outer, n, inner, 1.0);
}

void mean_dim_f32(const float* x, float* y, int64_t outer, int64_t n, int64_t inner) {
  // Mean over zero elements is NaN (0 / 0), as in PyTorch.
  sum_dim_divided(x, y, outer, n, inner, static_cast<double>(n));
}

void max_dim_f32(const float* x, float* y, int64_t outer, int64_t n, int64_t inner) {
  for (int64_t o = 0; o < outer; ++o) {
    float* out = y + o * inner;
    const float* first = x + o * n * inner;
    for (int64_t j = 0; j < inner; ++j) out[j] = first[j];
    for (int64_t r = 1; r < n; ++r) {
      const float* row = first + r * inner;
      for (int64_t j = 0; j < inner; ++j) {
        // NaN wins, as torch.max does.
        if (std::isnan(row[j]) || row[j] > out[j]) out[j] = std::isnan(out[j]) ? out[j] : row[j];
      }
    }
  }
}

}  // namespace hl::cpu
