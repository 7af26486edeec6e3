// f32 GEMM on the CPU through OpenBLAS cblas_sgemm (row-major), one call per batch entry
// or per block of one, split over the engine's thread pool (OpenBLAS runs single-threaded).
// CUDA twin: kernels/cuda/gemm.h (cuBLAS, full f32).
// Tests: tests/kernels/test_cpu_kernels.cpp (a double-precision triple loop, every
// transpose, batches, alpha and beta), tests/kernels/test_kernels_golden.cpp (PyTorch
// matmul); on CUDA tests/cuda/test_cuda_kernels.cpp.
#pragma once
#include <cstdint>

#include "kernels/common/gemm_shape.h"

namespace hl::cpu {

void gemm_f32(const GemmShape& s, const float* a, const float* b, float* c);

// One row-major cblas_sgemm (leading dimensions as stored), split over the engine's
// threads (kernels/cpu/parallel.h) when large enough: OpenBLAS itself runs on one thread
// (gemm.cpp says why). For callers with their own layouts (conv2d_fused.cpp).
void sgemm_threaded(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                    int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

}  // namespace hl::cpu
