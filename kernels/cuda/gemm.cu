// f32 GEMM through cuBLAS (kernels/cuda/gemm.h), the same function as kernels/cpu/gemm.cpp:
//   for b in [0, batch):  C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b]   (row-major)
//
// cuBLAS is column-major. A row-major [r, c] matrix is the column-major [c, r] matrix,
// its transpose, so the row-major product C = op(A) op(B) is computed as the
// column-major product C^T = op(B)^T op(A)^T: B first, then A, with m and n swapped and
// each leading dimension the row length as stored.
//
// Precision: CUBLAS_COMPUTE_32F (full f32 multiply-adds), never TF32. TF32 tensor cores
// would be several times faster on Hopper but round the inputs to 10 mantissa bits
// (relative error ~1e-3), which breaks parity with the CPU at the project's f32
// tolerance (1e-5) and the f32 training the paper's numbers come from. Fast
// low-precision products belong to the explicit f16/bf16 inference paths instead.
// The handle's math mode is also set to CUBLAS_DEFAULT_MATH here, so a handle that some
// other code switched to CUBLAS_TF32_TENSOR_OP_MATH cannot change this function.
//
// Tests: tests/cuda/test_cuda_kernels.cpp (every transpose combination, batching, a
// shared B with stride 0, beta != 0, k = 0) against the CPU kernel.
#include <cublas_v2.h>

#include <algorithm>
#include <climits>
#include <string>

#include "kernels/common/error.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/handles.h"

namespace hl::cuda {
namespace {

int checked_int(int64_t v, const char* what) {
  if (v > INT_MAX) throw Error(std::string("cuda::gemm_f32: ") + what + " = " + std::to_string(v) + " exceeds cuBLAS's int range");
  return static_cast<int>(v);
}

// k == 0: op(A) op(B) is an empty sum, so C = beta * C. Done here rather than trusting
// every cuBLAS version with zero-length leading dimensions.
void scale_c(const GemmShape& s, float* c, cudaStream_t stream) {
  const int64_t mn = s.m * s.n;
  for (int64_t i = 0; i < s.batch; ++i) {
    float* ci = c + i * s.stride_c;
    if (s.beta == 0.0f)
      HL_CUDA_CHECK(cudaMemsetAsync(ci, 0, static_cast<size_t>(mn) * sizeof(float), stream));  // 0 * NaN would be NaN
    else
      scale_f32(ci, s.beta, ci, mn, stream);
    if (s.stride_c == 0) break;  // every batch entry is the same C
  }
}

}  // namespace

void gemm_f32(const GemmShape& s, const float* a, const float* b, float* c, cudaStream_t stream) {
  if (s.m < 0 || s.n < 0 || s.k < 0 || s.batch < 0) throw Error("cuda::gemm_f32: negative dimension");
  if (s.batch == 0 || s.m == 0 || s.n == 0) return;
  if (s.k == 0) return scale_c(s, c, stream);

  const int m = checked_int(s.m, "m"), n = checked_int(s.n, "n"), k = checked_int(s.k, "k");
  // Leading dimensions are the stored row lengths (see the header comment).
  const int lda = s.trans_a ? m : k;  // A stored [k, m] or [m, k]
  const int ldb = s.trans_b ? k : n;  // B stored [n, k] or [k, n]
  const int ldc = n;
  const cublasOperation_t op_a = s.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = s.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;

  cublasHandle_t handle = cublas_handle(stream);
  HL_CUBLAS_CHECK(cublasSetMathMode(handle, CUBLAS_DEFAULT_MATH));
  // batchCount is an int too: very long batches go in chunks.
  for (int64_t done = 0; done < s.batch;) {
    const int chunk = static_cast<int>(std::min<int64_t>(s.batch - done, INT_MAX));
    HL_CUBLAS_CHECK(cublasGemmStridedBatchedEx(
        handle, op_b, op_a, n, m, k, &s.alpha,           //
        b + done * s.stride_b, CUDA_R_32F, ldb, s.stride_b,  //
        a + done * s.stride_a, CUDA_R_32F, lda, s.stride_a,  //
        &s.beta, c + done * s.stride_c, CUDA_R_32F, ldc, s.stride_c, chunk, CUBLAS_COMPUTE_32F,
        CUBLAS_GEMM_DEFAULT));
    done += chunk;
  }
}

}  // namespace hl::cuda
