// f32 GEMM on the CPU through OpenBLAS cblas_sgemm (row-major), one call per batch entry.
// CUDA twin: kernels/cuda/gemm.h (cuBLAS, full f32).
// Tests: tests/kernels/test_cpu_kernels.cpp (a double-precision triple loop, every
// transpose, batches, alpha and beta), tests/kernels/test_kernels_golden.cpp (PyTorch
// matmul); on CUDA tests/cuda/test_cuda_kernels.cpp.
#pragma once
#include "kernels/common/gemm_shape.h"

namespace hl::cpu {

void gemm_f32(const GemmShape& s, const float* a, const float* b, float* c);

}  // namespace hl::cpu
