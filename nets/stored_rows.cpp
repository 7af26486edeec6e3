#include "nets/stored_rows.h"

#include <algorithm>
#include <memory>

#include "engine/error.h"
#include "kernels/cpu/cast.h"
#include "kernels/cpu/parallel.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#define HL_STORED_ROWS_F16C 1
#endif

namespace hl {

namespace {

constexpr int64_t kRowsGrainElements = 32 * 1024;  // per thread's share at least: ~30 us of work

#if HL_STORED_ROWS_F16C
// CPUID leaf 1 says AVX and F16C, and XCR0 says the system saves the YMM registers.
bool have_f16c() {
  static const bool yes = [] {
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
    if (!(c & bit_OSXSAVE) || !(c & bit_AVX) || !(c & bit_F16C)) return false;
    unsigned lo = 0, hi = 0;
    __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (lo & 6u) == 6u;
  }();
  return yes;
}

// 8 at a time with vcvtph2ps; returns how many it converted.
__attribute__((target("avx,f16c"))) int64_t f16_to_f32_f16c(const uint16_t* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i))));
  return i;
}
#endif

}  // namespace

void f16_to_f32_fast(const uint16_t* x, float* y, int64_t n) {
  int64_t done = 0;
#if HL_STORED_ROWS_F16C
  if (have_f16c()) done = f16_to_f32_f16c(x, y, n);
#endif
  cpu::f16_to_f32(x + done, y + done, n - done);
}

ag::RowSource stored_rows(Feature f, const Tensor& stored, const InputNormalisation& normalisation) {
  if (stored.dtype() != DType::F16 || !stored.device().is_cpu() || stored.ndim() < 1)
    throw Error(std::string("stored_rows: '") + feature_spec(f).name + "' is " + stored.str() + ", not f16 on the CPU");
  const int64_t width = stored.size(-1);
  // Shared, not copied per call: std::function copies its target when the tape stores it.
  auto statistics = normalisation.enabled() ? std::make_shared<const InputNormalisation>(normalisation) : nullptr;
  // Rows are independent: split over the engine's threads (the same bits with any count).
  // The dataset assembled its f32 batch on one thread; this runs twice a step (forward and
  // weight gradient), so on one thread the epoch was about 10% slower than before.
  const int64_t grain = std::max<int64_t>(1, kRowsGrainElements / std::max<int64_t>(width, 1));
  return [f, stored, width, statistics, grain](int64_t first, int64_t count, float* dst) {
    const uint16_t* src = stored.data<uint16_t>() + first * width;
    cpu::parallel_for(count, grain, [&](int64_t r0, int64_t r1) {
      f16_to_f32_fast(src + r0 * width, dst + r0 * width, (r1 - r0) * width);
      if (statistics) statistics->normalise_rows(f, dst + r0 * width, dst + r0 * width, r1 - r0);
    });
  };
}

}  // namespace hl
