#include "kernels/cpu/cast_f16c.h"

#include "kernels/cpu/cast.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#define HL_CAST_F16C 1
#endif

namespace hl::cpu {

namespace {

#if HL_CAST_F16C
// CPUID leaf 1 says AVX and F16C, and XCR0 says the system saves the YMM registers
// (clang's __builtin_cpu_supports does not know "f16c").
bool have_f16c() {
  static const bool yes = [] {
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
    if (!(c & bit_OSXSAVE) || !(c & bit_AVX) || !(c & bit_F16C)) return false;
    unsigned lo = 0, hi = 0;
    __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (lo & 6u) == 6u;  // XMM and YMM state
  }();
  return yes;
}

// Converts the first multiple of 8 of x[0, n) and returns how many it converted; ORs into
// *bad whether any of them is non-finite when `check` (all-ones exponent bits, compared
// as floats: +inf == +inf; a NaN compares unequal but its bits AND the exponent give it).
template <bool check>
__attribute__((target("avx,f16c"))) int64_t f16_to_f32_f16c(const uint16_t* x, float* y, int64_t n, bool* bad) {
  const __m256 exponent = _mm256_castsi256_ps(_mm256_set1_epi32(0x7f800000));
  __m256 flags = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i)));
    _mm256_storeu_ps(y + i, v);
    if constexpr (check) flags = _mm256_or_ps(flags, _mm256_cmp_ps(_mm256_and_ps(v, exponent), exponent, _CMP_EQ_OQ));
  }
  if constexpr (check) *bad = *bad || _mm256_movemask_ps(flags) != 0;
  return i;
}
#endif

}  // namespace

void f16_to_f32_fast(const uint16_t* x, float* y, int64_t n) {
  int64_t done = 0;
#if HL_CAST_F16C
  bool unused = false;
  if (have_f16c()) done = f16_to_f32_f16c<false>(x, y, n, &unused);
#endif
  f16_to_f32(x + done, y + done, n - done);
}

bool f16_to_f32_fast_any_non_finite(const uint16_t* x, float* y, int64_t n) {
  int64_t done = 0;
  bool bad = false;
#if HL_CAST_F16C
  if (have_f16c()) done = f16_to_f32_f16c<true>(x, y, n, &bad);
#endif
  f16_to_f32(x + done, y + done, n - done);
  for (int64_t i = done; i < n; ++i) bad = bad || (x[i] & 0x7c00u) == 0x7c00u;
  return bad;
}

}  // namespace hl::cpu
