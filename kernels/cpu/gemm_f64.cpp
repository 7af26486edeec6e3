// f64 twin of gemm_f32 (kernels/cpu/gemm.cpp): one cblas_dgemm per batch entry.
#include "kernels/cpu/gemm_f64.h"

#include <cblas.h>

#include "kernels/common/error.h"

namespace hl::cpu {

void gemm_f64(const GemmShape& s, const double* a, const double* b, double* c) {
  if (s.m < 0 || s.n < 0 || s.k < 0 || s.batch < 0) throw Error("gemm_f64: negative dimension");
  const int lda = static_cast<int>(s.trans_a ? s.m : s.k);
  const int ldb = static_cast<int>(s.trans_b ? s.k : s.n);
  const int ldc = static_cast<int>(s.n);
  for (int64_t i = 0; i < s.batch; ++i) {
    cblas_dgemm(CblasRowMajor, s.trans_a ? CblasTrans : CblasNoTrans, s.trans_b ? CblasTrans : CblasNoTrans,
                static_cast<int>(s.m), static_cast<int>(s.n), static_cast<int>(s.k), s.alpha, a + i * s.stride_a,
                lda > 0 ? lda : 1, b + i * s.stride_b, ldb > 0 ? ldb : 1, s.beta, c + i * s.stride_c, ldc > 0 ? ldc : 1);
  }
}

}  // namespace hl::cpu
