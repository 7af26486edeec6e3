// The GEMMs that make the gradients of a (batched) matrix product C = op(A) op(B)
// (GemmShape s, kernels/common/gemm_shape.h). One decomposition, used by both
// matmul_backward kernels (kernels/cpu/linear.cpp, kernels/cuda/linear.cu), so that the
// two devices run the same products:
//   dA = dC op(B)^T          (A stored [k, m]: dA = op(B) dC^T)
//   dB = op(A)^T dC          (B stored [n, k]: dB = dC^T op(A))
// A B shared by the batch (stride_b == 0) collects every batch entry's contribution.
// Tests: the op table's matmul and linear rows (tests/ops/rows_dense.cpp) through
// ag::matmul and ag::linear: tests/ops/test_op_table.cpp (finite differences in double),
// tests/ops/test_op_table_cuda.cpp (CUDA against CPU).
#pragma once
#include <cstdint>

#include "kernels/common/gemm_shape.h"

namespace hl {

// One GEMM of the backward pass: its shape, and whether its first operand is dC (else
// the other input: B for dA, A for dB).
struct MatmulGradGemm {
  GemmShape shape;
  bool dc_first = false;
};

// dA for every batch entry, one batched GEMM writing dA with A's strides.
inline MatmulGradGemm matmul_grad_a(const GemmShape& s) {
  MatmulGradGemm g;
  g.shape.batch = s.batch;
  if (!s.trans_a) {  // dA [m, k] = dC [m, n] op(B)^T
    g.shape.m = s.m, g.shape.n = s.k, g.shape.k = s.n;
    g.shape.trans_b = !s.trans_b;
    g.shape.stride_a = s.stride_c, g.shape.stride_b = s.stride_b, g.shape.stride_c = s.stride_a;
    g.dc_first = true;
  } else {  // A is [k, m]: dA = op(B) dC^T
    g.shape.m = s.k, g.shape.n = s.m, g.shape.k = s.n;
    g.shape.trans_a = s.trans_b;
    g.shape.trans_b = true;
    g.shape.stride_a = s.stride_b, g.shape.stride_b = s.stride_c, g.shape.stride_c = s.stride_a;
  }
  return g;
}

// dB for every batch entry, with B's strides. For a shared B (stride_b == 0) every
// entry writes the same dB with beta = 1: the entries must run in order and dB must
// start at zero (a sequential batch loop; a concurrent batched call would race).
inline MatmulGradGemm matmul_grad_b(const GemmShape& s) {
  MatmulGradGemm g;
  g.shape.batch = s.batch;
  if (s.stride_b == 0) g.shape.beta = 1.0f;
  if (!s.trans_b) {  // dB [k, n] = op(A)^T dC
    g.shape.m = s.k, g.shape.n = s.n, g.shape.k = s.m;
    g.shape.trans_a = !s.trans_a;
    g.shape.stride_a = s.stride_a, g.shape.stride_b = s.stride_c, g.shape.stride_c = s.stride_b;
  } else {  // B is [n, k]: dB = dC^T op(A)
    g.shape.m = s.n, g.shape.n = s.k, g.shape.k = s.m;
    g.shape.trans_a = true;
    g.shape.trans_b = s.trans_a;
    g.shape.stride_a = s.stride_c, g.shape.stride_b = s.stride_a, g.shape.stride_c = s.stride_b;
    g.dc_first = true;
  }
  return g;
}

// For a shared B with op(A) = A and contiguous A and dC, the sum over the batch is one
// product over the stacked rows: dB = A_all^T dC_all with A_all [batch * m, k]
// (dB = dC_all^T A_all when B is [n, k]). Whether that applies, and its GEMM.
inline bool matmul_grad_b_stacks(const GemmShape& s) {
  return s.stride_b == 0 && !s.trans_a && s.stride_a == s.m * s.k && s.stride_c == s.m * s.n;
}
inline MatmulGradGemm matmul_grad_b_stacked(const GemmShape& s) {
  MatmulGradGemm g;
  g.shape.trans_a = true;
  g.shape.k = s.batch * s.m;
  if (!s.trans_b) {
    g.shape.m = s.k, g.shape.n = s.n;
  } else {
    g.shape.m = s.n, g.shape.n = s.k;
    g.dc_first = true;
  }
  return g;
}

}  // namespace hl
