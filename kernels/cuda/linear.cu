// Dense layers and the matmul backward on CUDA (kernels/cuda/linear.h). The GemmShapes
// are those of kernels/cpu/linear.cpp, line for line.
//
// One difference is forced by the hardware: the CPU computes the gradient of a B
// shared by the batch (stride_b == 0) as `batch` sequential products accumulating into
// dB (beta = 1). A single strided-batched cuBLAS call with stride_c == 0 would have all
// batch entries write dB concurrently (a race), so here:
//   - when op(A) = A (not transposed), A and dC are contiguous row blocks, and the sum
//     over the batch is one product: dB = A_all^T dC_all with A_all [batch * m, k];
//   - otherwise one cuBLAS call per batch entry on the stream (ordered, beta = 1).
#include <cstdint>

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

void linear_forward_f32(const float* x, const float* w, const float* b, float* y, int64_t rows, int64_t in, int64_t out,
                        cudaStream_t stream) {
  if (rows * out == 0) return;
  GemmShape s;
  s.m = rows;
  s.k = in;
  s.n = out;
  gemm_f32(s, x, w, y, stream);  // k == 0 gives zeros
  if (b) add_bias_f32(y, b, rows, out, stream);
}

void linear_backward_f32(const float* x, const float* w, const float* dy, float* dx, float* dw, float* db, int64_t rows,
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

void matmul_backward_f32(const GemmShape& s, const float* a, const float* b, const float* dc, float* da, float* db,
                         cudaStream_t stream) {
  if (da && s.batch * s.m * s.k > 0) {
    GemmShape g;
    g.batch = s.batch;
    if (!s.trans_a) {  // dA [m, k] = dC [m, n] op(B)^T
      g.m = s.m, g.n = s.k, g.k = s.n;
      g.trans_b = !s.trans_b;
      g.stride_a = s.stride_c, g.stride_b = s.stride_b, g.stride_c = s.stride_a;
      gemm_f32(g, dc, b, da, stream);
    } else {  // A is [k, m]: dA = op(B) dC^T
      g.m = s.k, g.n = s.m, g.k = s.n;
      g.trans_a = s.trans_b;
      g.trans_b = true;
      g.stride_a = s.stride_b, g.stride_b = s.stride_c, g.stride_c = s.stride_a;
      gemm_f32(g, b, dc, da, stream);
    }
  }
  if (!db || s.k * s.n <= 0) return;
  const bool shared = s.stride_b == 0;
  if (!shared) {
    GemmShape g;
    g.batch = s.batch;
    if (!s.trans_b) {  // dB [k, n] = op(A)^T dC
      g.m = s.k, g.n = s.n, g.k = s.m;
      g.trans_a = !s.trans_a;
      g.stride_a = s.stride_a, g.stride_b = s.stride_c, g.stride_c = s.stride_b;
      gemm_f32(g, a, dc, db, stream);
    } else {  // B is [n, k]: dB = dC^T op(A)
      g.m = s.n, g.n = s.k, g.k = s.m;
      g.trans_a = true;
      g.trans_b = s.trans_a;
      g.stride_a = s.stride_c, g.stride_b = s.stride_a, g.stride_c = s.stride_b;
      gemm_f32(g, dc, a, db, stream);
    }
    return;
  }
  // Shared B: the sum over the batch of each entry's product.
  const bool contiguous = s.stride_a == s.m * s.k && s.stride_c == s.m * s.n;
  if (!s.trans_a && contiguous) {
    GemmShape g;       // A_all [batch * m, k], dC_all [batch * m, n]
    if (!s.trans_b) {  // dB [k, n] = A_all^T dC_all
      g.m = s.k, g.n = s.n, g.k = s.batch * s.m;
      g.trans_a = true;
      gemm_f32(g, a, dc, db, stream);
    } else {  // dB [n, k] = dC_all^T A_all
      g.m = s.n, g.n = s.k, g.k = s.batch * s.m;
      g.trans_a = true;
      gemm_f32(g, dc, a, db, stream);
    }
    return;
  }
  zero_fill(db, static_cast<size_t>(s.k * s.n) * sizeof(float), stream);
  for (int64_t i = 0; i < s.batch; ++i) {
    GemmShape g;
    g.beta = 1.0f;
    const float* ai = a + i * s.stride_a;
    const float* dci = dc + i * s.stride_c;
    if (!s.trans_b) {  // dB [k, n] += op(A_i)^T dC_i
      g.m = s.k, g.n = s.n, g.k = s.m;
      g.trans_a = !s.trans_a;
      gemm_f32(g, ai, dci, db, stream);
    } else {  // dB [n, k] += dC_i^T op(A_i)
      g.m = s.n, g.n = s.k, g.k = s.m;
      g.trans_a = true;
      g.trans_b = s.trans_a;
      gemm_f32(g, dci, ai, db, stream);
    }
  }
}

}  // namespace hl::cuda
