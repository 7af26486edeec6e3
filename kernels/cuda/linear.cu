// Dense layers and the matmul backward on CUDA (kernels/cuda/linear.h). The matmul
// backward's GEMMs are those of kernels/cpu/linear.cpp: both take them from
// kernels/common/matmul_backward.h.
//
// One difference is forced by the hardware: the CPU computes the gradient of a B
// shared by the batch (stride_b == 0) as `batch` sequential products accumulating into
// dB (beta = 1). A single strided-batched cuBLAS call with stride_c == 0 would have all
// batch entries write dB concurrently (a race), so here:
//   - when op(A) = A (not transposed), A and dC are contiguous row blocks, and the sum
//     over the batch is one product: dB = A_all^T dC_all with A_all [batch * m, k];
//   - otherwise one cuBLAS call per batch entry on the stream (ordered, beta = 1).
#include <cstdint>

#include "kernels/common/matmul_backward.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/concat.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/linear.h"
#include "kernels/cuda/reduce.h"

namespace hl::cuda {
namespace {

__global__ void add_bias_kernel(float* y, const float* b, int64_t rows, int64_t out) {
  const int64_t total = rows * out;
  for (int64_t e = grid_first(); e < total; e += grid_stride()) y[e] = __fadd_rn(y[e], b[e % out]);
}

}  // namespace

void add_bias_f32(float* y, const float* b, int64_t rows, int64_t out, cudaStream_t stream) {
  const int64_t total = rows * out;
  if (total <= 0) return;
  add_bias_kernel<<<grid_blocks(total), kBlockThreads, 0, stream>>>(y, b, rows, out);
  HL_CUDA_LAUNCH_CHECK();
}

void linear_forward(const float* x, const float* w, const float* b, float* y, int64_t rows, int64_t in, int64_t out,
                    cudaStream_t stream) {
  if (rows * out == 0) return;
  GemmShape s;
  s.m = rows;
  s.k = in;
  s.n = out;
  gemm_f32(s, x, w, y, stream);  // k == 0 gives zeros
  if (b) add_bias_f32(y, b, rows, out, stream);
}

void linear_backward(const float* x, const float* w, const float* dy, float* dx, float* dw, float* db, int64_t rows,
                     int64_t in, int64_t out, cudaStream_t stream) {
  if (dx && rows * in > 0) {
    GemmShape s;  // dx [rows, in] = dy [rows, out] w^T
    s.m = rows;
    s.n = in;
    s.k = out;
    s.trans_b = true;
    gemm_f32(s, dy, w, dx, stream);
  }
  if (dw && in * out > 0) {
    GemmShape s;  // dw [in, out] = x^T [in, rows] dy [rows, out]
    s.m = in;
    s.n = out;
    s.k = rows;
    s.trans_a = true;
    gemm_f32(s, x, dy, dw, stream);
  }
  if (db && out > 0) {
    if (rows > 0)
      sum_dim_f32(dy, db, 1, rows, out, stream);  // [1, rows, out] -> [1, out], double sums
    else
      zero_fill(db, static_cast<size_t>(out) * sizeof(float), stream);
  }
}

void matmul_backward(const GemmShape& s, const float* a, const float* b, const float* dc, float* da, float* db,
                     cudaStream_t stream) {
  if (da && s.batch * s.m * s.k > 0) {
    const MatmulGradGemm g = matmul_grad_a(s);
    g.dc_first ? gemm_f32(g.shape, dc, b, da, stream) : gemm_f32(g.shape, b, dc, da, stream);
  }
  if (!db || s.k * s.n <= 0) return;
  if (s.stride_b != 0) {
    const MatmulGradGemm g = matmul_grad_b(s);
    g.dc_first ? gemm_f32(g.shape, dc, a, db, stream) : gemm_f32(g.shape, a, dc, db, stream);
    return;
  }
  // A shared B: the sum over the batch as one product when it stacks, else one product
  // per batch entry in stream order (beta = 1), never one concurrent batched call.
  if (matmul_grad_b_stacks(s)) {
    const MatmulGradGemm g = matmul_grad_b_stacked(s);
    g.dc_first ? gemm_f32(g.shape, dc, a, db, stream) : gemm_f32(g.shape, a, dc, db, stream);
    return;
  }
  zero_fill(db, static_cast<size_t>(s.k * s.n) * sizeof(float), stream);
  MatmulGradGemm g = matmul_grad_b(s);
  g.shape.batch = 1;
  for (int64_t i = 0; i < s.batch; ++i) {
    const float* ai = a + i * s.stride_a;
    const float* dci = dc + i * s.stride_c;
    g.dc_first ? gemm_f32(g.shape, dci, ai, db, stream) : gemm_f32(g.shape, ai, dci, db, stream);
  }
}

}  // namespace hl::cuda
