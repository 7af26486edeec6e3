// The description of a (batched) row-major matrix product, shared by the CPU (OpenBLAS)
// and CUDA (cuBLAS) GEMM kernels:
//   for b in [0, batch):  C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b]
// op(A) is [m, k]: A is stored [m, k], or [k, m] when trans_a. op(B) is [k, n]: B is
// stored [k, n], or [n, k] when trans_b. C is [m, n]. Matrices are contiguous; the
// batch strides (elements) may be 0 to reuse one matrix for every batch entry.
#pragma once
#include <cstdint>

namespace hl {

struct GemmShape {
  int64_t batch = 1;
  int64_t m = 0, n = 0, k = 0;
  bool trans_a = false, trans_b = false;
  float alpha = 1.0f, beta = 0.0f;
  int64_t stride_a = 0, stride_b = 0, stride_c = 0;  // elements between batch entries
};

}  // namespace hl
