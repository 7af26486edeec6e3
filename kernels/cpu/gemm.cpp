// f32 GEMM through OpenBLAS. Row-major CBLAS takes the leading dimension of each
// matrix as stored: A is [m, k] (lda = k) or, transposed, [k, m] (lda = m).
// Tall-skinny products (many rows, n <= 128: the LSTM and linear layers over batch x
// time rows) go to gemm_skinny_f32 instead, which does not pack A (gemm_skinny.h).
//
// Threads: OpenBLAS runs single-threaded (kernels/cpu/parallel.cpp sets it so) and the
// products are split here over the engine's one thread pool (parallel.h): C's rows, or
// its columns when it has fewer rows than columns, or the batch entries. Why not
// OpenBLAS's own threads: they busy-wait (sched_yield) for ~0.1 s after every product,
// so with 2 threads on 2 cores they took a core from the pool's worker whenever the
// engine's own loops ran between products: the batch-32 training step took 84-94 ms
// instead of 68-75 ms (issue 18; OPENBLAS_THREAD_TIMEOUT=4, which stops the waiting,
// gave the same gain). Each part is an ordinary single-threaded sgemm on a block of C:
// every element of C is still one dot product over all of k in OpenBLAS's order.
#include "kernels/cpu/gemm.h"

#include <cblas.h>

#include <algorithm>

#include "kernels/common/error.h"
#include "kernels/cpu/gemm_skinny.h"
#include "kernels/cpu/parallel.h"

namespace hl::cpu {

namespace {

// Below this many multiply-adds a part costs less than waking a thread for it.
constexpr int64_t kMinMultiplyAddsPerPart = int64_t(1) << 21;

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a,
              static_cast<int>(std::max<int64_t>(lda, 1)), b, static_cast<int>(std::max<int64_t>(ldb, 1)), beta, c,
              static_cast<int>(std::max<int64_t>(ldc, 1)));
}

}  // namespace

void sgemm_threaded(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                    int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  const int64_t per_row = std::max<int64_t>(1, n * std::max<int64_t>(k, 1));
  const int64_t per_column = std::max<int64_t>(1, m * std::max<int64_t>(k, 1));
  if (m >= n) {  // rows of C: A's rows (its columns when transposed) and C's rows
    parallel_for(m, std::max<int64_t>(1, kMinMultiplyAddsPerPart / per_row), [&](int64_t r0, int64_t r1) {
      sgemm(trans_a, trans_b, r1 - r0, n, k, alpha, trans_a ? a + r0 : a + r0 * lda, lda, b, ldb, beta, c + r0 * ldc,
            ldc);
    });
  } else {  // columns of C: B's columns (its rows when transposed) and C's columns
    parallel_for(n, std::max<int64_t>(1, kMinMultiplyAddsPerPart / per_column), [&](int64_t c0, int64_t c1) {
      sgemm(trans_a, trans_b, m, c1 - c0, k, alpha, a, lda, trans_b ? b + c0 * ldb : b + c0, ldb, beta, c + c0,
            ldc);
    });
  }
}

void gemm_f32(const GemmShape& s, const float* a, const float* b, float* c) {
  if (s.m < 0 || s.n < 0 || s.k < 0 || s.batch < 0) throw Error("gemm_f32: negative dimension");
  if (gemm_skinny_preferred(s)) {
    gemm_skinny_f32(s, a, b, c, num_threads());
    return;
  }
  const int64_t lda = s.trans_a ? s.m : s.k;
  const int64_t ldb = s.trans_b ? s.k : s.n;
  const int64_t ldc = s.n;
  const auto entry = [&](int64_t i, bool threaded) {
    (threaded ? sgemm_threaded : sgemm)(s.trans_a, s.trans_b, s.m, s.n, s.k, s.alpha, a + i * s.stride_a, lda,
                                        b + i * s.stride_b, ldb, s.beta, c + i * s.stride_c, ldc);
  };
  if (s.batch >= num_threads()) {  // whole entries per thread (a batch of small products)
    const int64_t per_entry = std::max<int64_t>(1, s.m * s.n * std::max<int64_t>(s.k, 1));
    parallel_for(s.batch, std::max<int64_t>(1, kMinMultiplyAddsPerPart / per_entry), [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) entry(i, false);
    });
  } else {
    for (int64_t i = 0; i < s.batch; ++i) entry(i, true);
  }
}

}  // namespace hl::cpu
