// The tall-skinny f32 GEMM (kernels/cpu/gemm_skinny.h) against a double-precision triple
// loop: every column remainder of a 16-wide vector and both panel layouts (n up to 80 in
// one panel, 81..128 in two), row counts that are not a multiple of the tile height, short
// k, alpha != 1, beta 0 over C full of NaN, beta 1 and -0.5, transposed B, batches with
// strides (and a shared B), rows split over threads, and gemm_f32's use of it.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/common/error.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_skinny.h"
#include "kernels/cpu/parallel.h"

namespace hl {
namespace {

constexpr float kSentinel = 12345.0f;  // fills C's gaps and guard: must survive

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(gen);
  return v;
}

// Storage for a batch of C matrices stride_c apart, then a guard of 64 floats. Elements
// outside the matrices are kSentinel; inside, random (or NaN when beta == 0: the kernel
// must not read them).
std::vector<float> make_c(const GemmShape& s, uint32_t seed) {
  std::vector<float> c(static_cast<size_t>((s.batch - 1) * s.stride_c + s.m * s.n + 64), kSentinel);
  const std::vector<float> r = random_floats(c.size(), seed);
  for (int64_t bi = 0; bi < s.batch; ++bi)
    for (int64_t i = 0; i < s.m * s.n; ++i) {
      const size_t at = static_cast<size_t>(bi * s.stride_c + i);
      c[at] = s.beta == 0.0f ? std::numeric_limits<float>::quiet_NaN() : r[at];
    }
  return c;
}

// Compares the kernel's C with the exact result, computed in double.
//
// Tolerance: each element is a float running sum of k products (each FMA rounds once),
// then alpha * sum (one rounding) and beta * C + that (one rounding, an FMA). The
// standard bound for such a sum is |error| <= (k + 2) u (|alpha| S + |beta| |C|) to first
// order, with u = 2^-24 and S = sum_p |A[i][p] B[p][j]|; (k + 4) u also covers rounding
// the double reference to float. It is a worst-case bound, so the test cannot fail by
// chance, and it is still far smaller than one product |A[i][p] B[p][j]| (about S / k on
// average), so dropping or repeating a term of the sum fails it.
void expect_matches(const GemmShape& s, const std::vector<float>& a, const std::vector<float>& b,
                    const std::vector<float>& c0, const std::vector<float>& c, const std::string& what) {
  constexpr double u = 1.0 / (1 << 24);
  int64_t bad = 0;
  for (int64_t bi = 0; bi < s.batch; ++bi)
    for (int64_t i = 0; i < s.m; ++i)
      for (int64_t j = 0; j < s.n; ++j) {
        double sum = 0, abs_sum = 0;
        for (int64_t p = 0; p < s.k; ++p) {
          const double av = a[static_cast<size_t>(bi * s.stride_a + i * s.k + p)];
          const double bv = s.trans_b ? b[static_cast<size_t>(bi * s.stride_b + j * s.k + p)]
                                      : b[static_cast<size_t>(bi * s.stride_b + p * s.n + j)];
          sum += av * bv;
          abs_sum += std::fabs(av * bv);
        }
        const size_t at = static_cast<size_t>(bi * s.stride_c + i * s.n + j);
        const double old = s.beta == 0.0f ? 0.0 : static_cast<double>(c0[at]);
        const double want = s.alpha * sum + s.beta * old;
        const double tol =
            (static_cast<double>(s.k) + 4) * u * (std::fabs(s.alpha) * abs_sum + std::fabs(s.beta * old)) + 1e-30;
        const double got = c[at];
        if (!(std::fabs(got - want) <= tol) && bad++ < 5)  // NaN fails too
          ADD_FAILURE() << what << ": C[" << bi << "][" << i << "][" << j << "] = " << got << ", want " << want
                        << " (tolerance " << tol << ")";
      }
  EXPECT_EQ(bad, 0) << what << ": elements off";
  // Nothing outside the matrices was written: gaps between batch entries and the guard.
  for (size_t at = 0; at < c.size(); ++at) {
    const auto bi = static_cast<int64_t>(at) / s.stride_c, off = static_cast<int64_t>(at) % s.stride_c;
    const bool inside = bi < s.batch && off < s.m * s.n;
    if (!inside) {
      ASSERT_EQ(c[at], kSentinel) << what << ": wrote outside C at " << at;
    }
  }
}

// Runs the kernel (threads as given) on random operands of shape s and checks it.
void check(const GemmShape& s, uint32_t seed, int threads, bool via_gemm_f32 = false) {
  const auto a = random_floats(static_cast<size_t>((s.batch - 1) * s.stride_a + s.m * s.k), seed);
  const auto b = random_floats(static_cast<size_t>((s.batch - 1) * s.stride_b + s.k * s.n), seed + 1);
  const auto c0 = make_c(s, seed + 2);
  auto c = c0;
  if (via_gemm_f32)
    cpu::gemm_f32(s, a.data(), b.data(), c.data());
  else
    cpu::gemm_skinny_f32(s, a.data(), b.data(), c.data(), threads);
  expect_matches(s, a, b, c0, c,
                 "m=" + std::to_string(s.m) + " n=" + std::to_string(s.n) + " k=" + std::to_string(s.k) +
                     " batch=" + std::to_string(s.batch) + " alpha=" + std::to_string(s.alpha) +
                     " beta=" + std::to_string(s.beta) + " trans_b=" + std::to_string(s.trans_b) +
                     " threads=" + std::to_string(threads));
}

GemmShape single(int64_t m, int64_t n, int64_t k, float alpha, float beta, bool trans_b) {
  GemmShape s;
  s.m = m, s.n = n, s.k = k, s.alpha = alpha, s.beta = beta, s.trans_b = trans_b;
  s.stride_a = m * k, s.stride_b = k * n, s.stride_c = m * n;
  return s;
}

#define SKIP_WITHOUT_AVX512()                                                   \
  if (!cpu::gemm_skinny_supported()) GTEST_SKIP() << "the CPU has no AVX-512F"

TEST(CpuGemmSkinny, EveryColumnRemainderRowRemainderAndScalars) {
  SKIP_WITHOUT_AVX512();
  uint32_t seed = 1;
  // Rows: one, under one tile, a multiple of 4 and of 6 plus remainders.
  for (int64_t m : {1, 7, 50})
    for (int64_t n : {1, 15, 16, 17, 31, 48, 63, 64, 65, 79, 80, 81, 96, 113, 127, 128})
      for (int64_t k : {1, 3, 13, 70, 200})  // 200: two blocks of the sum (kSumBlock 128)
        for (float beta : {0.0f, 1.0f, -0.5f})
          for (bool trans_b : {false, true}) {
            check(single(m, n, k, beta == 1.0f ? 1.0f : 0.75f, beta, trans_b), seed += 3, 1);
            if (HasFailure()) return;  // one shape's report is enough
          }
}

TEST(CpuGemmSkinny, BatchesWithStridesAndSharedB) {
  SKIP_WITHOUT_AVX512();
  uint32_t seed = 5000;
  for (bool shared_b : {false, true})
    for (float beta : {0.0f, 1.0f}) {
      GemmShape s;
      s.batch = 3;
      s.m = 23, s.n = 80, s.k = 19, s.alpha = -1.5f, s.beta = beta;
      // Gaps between the entries: the kernel must follow the strides, not m * k.
      s.stride_a = s.m * s.k + 5, s.stride_b = shared_b ? 0 : s.k * s.n + 3, s.stride_c = s.m * s.n + 7;
      check(s, seed += 3, 1);
      s.n = 100;  // two panels
      s.stride_b = shared_b ? 0 : s.k * s.n + 3, s.stride_c = s.m * s.n + 7;
      check(s, seed += 3, 1);
    }
}

TEST(CpuGemmSkinny, RowsSplitOverThreads) {
  SKIP_WITHOUT_AVX512();
  // The bands run on the engine's pool (kernels/cpu/parallel.h): allow 8 threads here, so
  // only the pool's size (one thread per core) and the requested count limit them.
  const int saved_threads = cpu::num_threads();
  cpu::set_num_threads(8);
  // 3001 x 64 x 64 is ~12M multiply-adds: up to 3 bands of rows (4M each at least).
  check(single(3001, 64, 64, 1.0f, 0.0f, false), 7000, 2);
  check(single(3001, 64, 64, 0.5f, 1.0f, true), 7003, 3);
  check(single(3001, 80, 64, 1.0f, -0.5f, false), 7006, 8);
  GemmShape s = single(1500, 128, 64, 1.0f, 0.0f, false);
  s.batch = 2, s.stride_c = s.m * s.n + 16;
  check(s, 7009, 2);
  cpu::set_num_threads(saved_threads);
}

// Long sums are added up in blocks, as accurate as OpenBLAS: the 10-step PyTorch training
// golden failed when each element was one running float sum over k = 1024 (the GoogLeNet
// dense layer). With non-negative A (post-ReLU features) the running sum grows steadily and
// so does its rounding error: normwise 8e-7 relative at k = 2048 in one sum, 2.1e-7 in
// blocks of 128, 3.6e-7 for OpenBLAS (SkylakeX kernels).
TEST(CpuGemmSkinny, LongSumsStayAccurate) {
  SKIP_WITHOUT_AVX512();
  const GemmShape s = single(96, 64, 2048, 1.0f, 0.0f, false);
  std::mt19937 gen(11);
  std::uniform_real_distribution<float> x(0.0f, 2.0f), w(-0.075f, 0.075f);
  std::vector<float> a(static_cast<size_t>(s.m * s.k)), b(static_cast<size_t>(s.k * s.n)),
      c(static_cast<size_t>(s.m * s.n));
  for (float& v : a) v = x(gen);
  for (float& v : b) v = w(gen);
  cpu::gemm_skinny_f32(s, a.data(), b.data(), c.data());
  double err2 = 0, ref2 = 0;
  for (int64_t i = 0; i < s.m; ++i)
    for (int64_t j = 0; j < s.n; ++j) {
      double ref = 0;
      for (int64_t p = 0; p < s.k; ++p)
        ref += static_cast<double>(a[static_cast<size_t>(i * s.k + p)]) * b[static_cast<size_t>(p * s.n + j)];
      const double d = c[static_cast<size_t>(i * s.n + j)] - ref;
      err2 += d * d, ref2 += ref * ref;
    }
  EXPECT_LT(std::sqrt(err2 / ref2), 4e-7);
}

TEST(CpuGemmSkinny, GemmF32UsesItWhenPreferred) {
  // gemm_f32 on a tall-skinny product is correct whichever path it takes.
  GemmShape s = single(2000, 80, 40, 0.5f, 1.0f, false);
  if (cpu::gemm_skinny_supported()) {
    EXPECT_TRUE(cpu::gemm_skinny_preferred(s));
  }
  check(s, 8000, 1, /*via_gemm_f32=*/true);
  s.beta = 0.0f;
  check(s, 8003, 1, /*via_gemm_f32=*/true);
}

TEST(CpuGemmSkinny, ScopeAndThresholds) {
  GemmShape s = single(45000, 64, 64, 1.0f, 0.0f, false);
  EXPECT_TRUE(cpu::gemm_skinny_shape_ok(s));
  s.trans_a = true;
  EXPECT_FALSE(cpu::gemm_skinny_shape_ok(s));
  EXPECT_FALSE(cpu::gemm_skinny_preferred(s));
  s.trans_a = false, s.n = 129;
  EXPECT_FALSE(cpu::gemm_skinny_shape_ok(s));
  EXPECT_FALSE(cpu::gemm_skinny_preferred(s));
  EXPECT_FALSE(cpu::gemm_skinny_preferred(single(16, 64, 64, 1.0f, 0.0f, false)));  // too few rows
  if (cpu::gemm_skinny_supported()) {
    float x = 0;
    EXPECT_THROW(cpu::gemm_skinny_f32(s, &x, &x, &x), Error);
  }
}

}  // namespace
}  // namespace hl
