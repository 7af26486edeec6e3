// The CPU kernels split over the engine's threads in issue 18 (kernels/cpu/gemm.cpp,
// kernels/cpu/optim.cpp). OpenBLAS is kept on one thread once the engine has read its
// thread count (its own workers busy-wait after each product and took a core from the
// engine's pool), and the products gemm.cpp splits instead (by rows of C, by columns, by
// batch entries, with a row stride wider than C) match a double-precision triple loop
// and give the same bits as one thread; the Adam step gives the same bits with any
// thread count and matches the update written out in doubles.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/optim.h"
#include "kernels/cpu/parallel.h"

extern "C" int openblas_get_num_threads(void);  // OpenBLAS's own count (cblas.h is not on the test's path)

namespace {

struct ThreadsFor {  // restores the thread setting when a test ends
  explicit ThreadsFor(int n) : saved(hl::cpu::num_threads()) { hl::cpu::set_num_threads(n); }
  ~ThreadsFor() { hl::cpu::set_num_threads(saved); }
  int saved;
};

std::vector<float> filled(size_t n, double seed) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>(std::sin(seed * static_cast<double>(i + 1)));
  return v;
}

TEST(GemmThreads, OpenBlasIsKeptOnOneThread) {
  ASSERT_GE(hl::cpu::num_threads(), 1);
  EXPECT_EQ(openblas_get_num_threads(), 1);
}

// C[b] = alpha op(A[b]) op(B[b]) + beta C[b] for every transpose pair, against doubles.
void check_gemm(int64_t batch, int64_t m, int64_t n, int64_t k) {
  for (int trans = 0; trans < 4; ++trans) {
    hl::GemmShape s;
    s.batch = batch, s.m = m, s.n = n, s.k = k, s.trans_a = trans & 1, s.trans_b = trans & 2;
    s.alpha = 0.5f, s.beta = 0.25f;
    s.stride_a = m * k, s.stride_b = k * n, s.stride_c = m * n;
    const std::vector<float> a = filled(static_cast<size_t>(batch * m * k), 0.37);
    const std::vector<float> b = filled(static_cast<size_t>(batch * k * n), 0.11);
    const std::vector<float> c0 = filled(static_cast<size_t>(batch * m * n), 0.05);
    auto run = [&](int threads) {
      ThreadsFor t(threads);
      std::vector<float> c = c0;
      hl::cpu::gemm_f32(s, a.data(), b.data(), c.data());
      return c;
    };
    const std::vector<float> one = run(1), several = run(3);
    size_t bad = 0, differ = 0;
    for (int64_t e = 0; e < batch; ++e)
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double sum = 0, magnitude = 0;
          for (int64_t p = 0; p < k; ++p) {
            const double x = a[e * m * k + (s.trans_a ? p * m + i : i * k + p)];
            const double y = b[e * k * n + (s.trans_b ? j * k + p : p * n + j)];
            sum += x * y, magnitude += std::fabs(x * y);
          }
          const size_t at = static_cast<size_t>(e * m * n + i * n + j);
          const double want = 0.5 * sum + 0.25 * c0[at];
          bad += std::fabs(several[at] - want) > 1e-6 * (magnitude + 1.0);
          differ += std::memcmp(&one[at], &several[at], sizeof(float)) != 0;
        }
    EXPECT_EQ(bad, 0u) << "trans " << trans << " batch " << batch << " m " << m << " n " << n << " k " << k;
    EXPECT_EQ(differ, 0u) << "trans " << trans << ": 3 threads gave other bits than 1";
  }
}

TEST(GemmThreads, SplitProductsMatchDoublePrecision) {
  check_gemm(1, 700, 200, 160);  // more rows than columns: rows of C split
  check_gemm(1, 40, 3000, 64);   // fewer rows: columns of C split
  check_gemm(4, 120, 150, 150);  // batch entries split
}

TEST(GemmThreads, RowStrideWiderThanC) {  // conv2d_fused.cpp's layout: C's rows in a wider buffer
  const int64_t m = 900, n = 64, k = 200, ldc = 100;
  const std::vector<float> a = filled(static_cast<size_t>(m * k), 0.21), b = filled(static_cast<size_t>(k * n), 0.03);
  std::vector<float> c(static_cast<size_t>(m * ldc), -7.0f);
  {
    ThreadsFor t(3);
    hl::cpu::sgemm_threaded(false, false, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, c.data(), ldc);
  }
  size_t bad = 0, touched = 0;
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double sum = 0, magnitude = 0;
      for (int64_t p = 0; p < k; ++p) sum += double(a[i * k + p]) * b[p * n + j], magnitude += std::fabs(double(a[i * k + p]) * b[p * n + j]);
      bad += std::fabs(c[i * ldc + j] - sum) > 1e-6 * (magnitude + 1.0);
    }
    for (int64_t j = n; j < ldc; ++j) touched += c[i * ldc + j] != -7.0f;  // past C's width: left alone
  }
  EXPECT_EQ(bad, 0u);
  EXPECT_EQ(touched, 0u);
}

TEST(AdamThreads, SameBitsWithAnyThreadCountAndMatchesDoubles) {
  const int64_t n = 200000;  // several ranges of the kernel's grain
  const std::vector<float> grad = filled(static_cast<size_t>(n), 0.29), p0 = filled(static_cast<size_t>(n), 0.07);
  const hl::cpu::AdamHyper h;  // lr 1e-3, betas 0.9 / 0.999, eps 1e-7
  auto run = [&](int threads) {
    ThreadsFor t(threads);
    std::vector<float> p = p0, m(p.size(), 0.01f), v(p.size(), 0.02f);
    hl::cpu::adam_step_f32(h, 3, p.data(), grad.data(), m.data(), v.data(), n);
    p.insert(p.end(), m.begin(), m.end());
    p.insert(p.end(), v.begin(), v.end());
    return p;
  };
  const std::vector<float> one = run(1), several = run(3);
  ASSERT_EQ(one.size(), several.size());
  size_t differ = 0, bad = 0;
  for (size_t i = 0; i < one.size(); ++i) differ += std::memcmp(&one[i], &several[i], sizeof(float)) != 0;
  for (int64_t i = 0; i < n; ++i) {  // torch.optim.Adam's update at step 3, in doubles
    const double g = grad[i], m = 0.9 * 0.01 + 0.1 * g, v = 0.999 * 0.02 + 0.001 * g * g;
    const double want = p0[i] - 1e-3 / (1 - std::pow(0.9, 3)) * m / (std::sqrt(v) / std::sqrt(1 - std::pow(0.999, 3)) + 1e-7);
    bad += std::fabs(several[i] - want) > 1e-6 * (std::fabs(want) + 1e-3);
  }
  EXPECT_EQ(differ, 0u);
  EXPECT_EQ(bad, 0u);
}

}  // namespace
