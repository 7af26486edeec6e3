// f32 GEMM on CUDA through cuBLAS (cublasGemmStridedBatchedEx with CUBLAS_COMPUTE_32F:
// full f32, never TF32; row-major handled by computing C^T = op(B)^T op(A)^T in cuBLAS's
// column-major view). Same GemmShape semantics as kernels/cpu/gemm.h, including batch
// strides of 0. Uses the calling thread's cuBLAS handle of the current device
// (kernels/cuda/handles.h), bound to `stream`.
// Tests: tests/cuda/test_cuda_kernels.cpp against kernels/cpu/gemm.cpp, tests/cuda/test_cuda_ops.cpp
// (matmul through hl::ops).
#pragma once
#include "kernels/cuda/stream.h"

#include "kernels/common/gemm_shape.h"

namespace hl::cuda {

void gemm_f32(const GemmShape& s, const float* a, const float* b, float* c, cudaStream_t stream);

}  // namespace hl::cuda
