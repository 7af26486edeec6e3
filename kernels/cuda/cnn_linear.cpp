// linear_forward_f16 (kernels/cuda/cnn_ops.h): the f16 classifier of the CUDA CNN
// backend, a cuBLAS GEMM and the shared bias epilogue.
// Tests: tests/cuda/test_cuda_cnn.cpp (the f16 backend's linear against the CPU backend).
#include <cublas_v2.h>

#include "kernels/cuda/check.h"
#include "kernels/cuda/cnn_ops.h"
#include "kernels/cuda/handles.h"

namespace hl::cuda {

void linear_forward_f16(const void* x, const void* w, const float* bias, void* y, int64_t rows, int64_t in,
                        int64_t out, cudaStream_t stream) {
  // Row-major y [rows, out] = x [rows, in] w [in, out] is column-major y^T = w^T x^T.
  cublasHandle_t handle = cublas_handle(stream);
  HL_CUBLAS_CHECK(cublasSetMathMode(handle, CUBLAS_DEFAULT_MATH));
  const float one = 1.0f, zero = 0.0f;
  const int m = static_cast<int>(out), n = static_cast<int>(rows), k = static_cast<int>(in);
  HL_CUBLAS_CHECK(cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &one, w, CUDA_R_16F, m, x, CUDA_R_16F, k,
                               &zero, y, CUDA_R_16F, m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
  ConvEpilogueArgs e;
  e.rows = rows, e.cols = out, e.in = y, e.ld_in = out, e.out = y, e.ld_out = out;
  e.bias = bias;
  conv_epilogue(CnnDType::F16, e, stream);
}

}  // namespace hl::cuda
