// Reductions along one dimension of [outer, n, inner].
#include "kernels/cpu/reduce.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
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
// Row sums on AVX-512 (issue 18 item 12: the all-double lane sum ran at 0.77-0.82x
// PyTorch's float sum, one thread). Each step adds 64 floats of a row in pairs in float
// lanes, ((a + b) + (c + d)) per lane, and sends those 16 partials to double
// accumulators (lo, hi). Each partial carries two roundings of 2^-24, so the error is
// at most ~1.2e-7 of sum |x|, whatever n (the final rounding to float adds ~6e-8 of
// |sum|): tests/kernels/test_row_sum_accuracy.cpp.
struct RowAccumulator {
  __m512d lo, hi;
};

__attribute__((target("avx512f"), always_inline)) inline RowAccumulator row_start() {
  return {_mm512_setzero_pd(), _mm512_setzero_pd()};
}

__attribute__((target("avx512f"), always_inline)) inline void row_add64(RowAccumulator& acc, const float* __restrict p) {
  const __m512 a = _mm512_add_ps(_mm512_loadu_ps(p), _mm512_loadu_ps(p + 16));
  const __m512 b = _mm512_add_ps(_mm512_loadu_ps(p + 32), _mm512_loadu_ps(p + 48));
  const __m512d bits = _mm512_castps_pd(_mm512_add_ps(a, b));
  // The maskz forms (all lanes kept) and no _mm512_reduce_add_pd: GCC 12's plain ones
  // warn of an uninitialised value inside its own header.
  acc.lo = _mm512_add_pd(acc.lo, _mm512_maskz_cvtps_pd(0xFF, _mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(0xFF, bits, 0))));
  acc.hi = _mm512_add_pd(acc.hi, _mm512_maskz_cvtps_pd(0xFF, _mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(0xFF, bits, 1))));
}

// The row's sum: the 8 double lanes pairwise, then the last count (< 64) floats.
__attribute__((target("avx512f"), always_inline)) inline double row_finish(const RowAccumulator& acc,
                                                                            const float* __restrict tail, int64_t count) {
  alignas(64) double d[8];
  _mm512_store_pd(d, _mm512_add_pd(acc.lo, acc.hi));
  return ((d[0] + d[1]) + (d[2] + d[3])) + ((d[4] + d[5]) + (d[6] + d[7])) + lanes::sum(tail, count);
}

// Asks the cache for the four 64-byte lines `ahead` floats after p (a hint: past the end
// of the input it reads nothing and cannot fault; the address is formed as an integer,
// since a pointer that far past the array would not be valid C++).
__attribute__((target("avx512f"), always_inline)) inline void prefetch64(const float* p, int64_t ahead) {
  const uintptr_t at = reinterpret_cast<uintptr_t>(p) + static_cast<uintptr_t>(ahead) * sizeof(float);
  for (uintptr_t line = 0; line < 256; line += 64) _mm_prefetch(reinterpret_cast<const char*>(at + line), _MM_HINT_T0);
}

// How far ahead of each row's loads the prefetches go: 8 KB, with 1024-float rows the
// same place in the next pair of rows. The hardware prefetchers stop at 4-KB page
// boundaries and a 1024-float row is one page, so without this every row began with
// cache misses (issue 18 item 12: [4096, 1024] from L3 at ~26 GB/s, ~28 with it).
inline constexpr int64_t kPrefetchFloats = 2048;

// out[o] = sum of row o of x [rows, n]. Two rows at a time (two independent streams
// keep more loads in flight); each row's arithmetic is the same whether it is summed in
// a pair or alone, so the bits do not depend on how the rows are split over threads.
__attribute__((target("avx512f"))) void row_sums_avx512(const float* __restrict x, int64_t rows, int64_t n,
                                                        double* __restrict out) {
  const int64_t whole = n - n % 64;
  int64_t o = 0;
  for (; o + 2 <= rows; o += 2) {
    const float* r = x + o * n;
    const float* q = r + n;
    RowAccumulator a = row_start(), b = row_start();
    for (int64_t i = 0; i < whole; i += 64) {
      prefetch64(r + i, kPrefetchFloats);
      prefetch64(q + i, kPrefetchFloats);
      row_add64(a, r + i);
      row_add64(b, q + i);
    }
    out[o] = row_finish(a, r + whole, n - whole);
    out[o + 1] = row_finish(b, q + whole, n - whole);
  }
  if (o < rows) {
    const float* r = x + o * n;
    RowAccumulator a = row_start();
    for (int64_t i = 0; i < whole; i += 64) {
      prefetch64(r + i, kPrefetchFloats);
      row_add64(a, r + i);
    }
    out[o] = row_finish(a, r + whole, n - whole);
  }
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
      row_sums_avx512(x, outer, n, acc);
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
