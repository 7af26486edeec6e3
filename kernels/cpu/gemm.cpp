// f32 GEMM through OpenBLAS. Row-major CBLAS takes the leading dimension of each
// matrix as stored: A is [m, k] (lda = k) or, transposed, [k, m] (lda = m).
// Tall-skinny products (many rows, n <= 128: the LSTM and linear layers over batch x
// time rows) go to gemm_skinny_f32 instead, which does not pack A (gemm_skinny.h).
#include "kernels/cpu/gemm.h"

#include <cblas.h>

#include "kernels/common/error.h"
#include "kernels/cpu/gemm_skinny.h"

namespace hl::cpu {

void gemm_f32(const GemmShape& s, const float* a, const float* b, float* c) {
  if (s.m < 0 || s.n < 0 || s.k < 0 || s.batch < 0) throw Error("gemm_f32: negative dimension");
  if (gemm_skinny_preferred(s)) {
    // As many threads as OpenBLAS would use (OPENBLAS_NUM_THREADS): with 2 threads
    // OpenBLAS catches up with the skinny kernel on one, so it splits rows likewise.
    gemm_skinny_f32(s, a, b, c, openblas_get_num_threads());
    return;
  }
  const int lda = static_cast<int>(s.trans_a ? s.m : s.k);
  const int ldb = static_cast<int>(s.trans_b ? s.k : s.n);
  const int ldc = static_cast<int>(s.n);
  for (int64_t i = 0; i < s.batch; ++i) {
    cblas_sgemm(CblasRowMajor, s.trans_a ? CblasTrans : CblasNoTrans, s.trans_b ? CblasTrans : CblasNoTrans,
                static_cast<int>(s.m), static_cast<int>(s.n), static_cast<int>(s.k), s.alpha, a + i * s.stride_a,
                lda > 0 ? lda : 1, b + i * s.stride_b, ldb > 0 ? ldb : 1, s.beta, c + i * s.stride_c, ldc > 0 ? ldc : 1);
  }
}

}  // namespace hl::cpu
