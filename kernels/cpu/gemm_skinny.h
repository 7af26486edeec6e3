// f32 GEMM for tall-skinny row-major products C[m, n] = alpha * A[m, k] * op(B)[k, n] +
// beta * C with m large (batch x time: 45,000 - 180,000 rows) and n small (<= 128).
//
// Why: OpenBLAS packs the whole of A for every call; on these shapes its packing
// routines (sgemm_oncopy/otcopy) were ~16% of the CPU training step. This kernel reads A
// in place and packs only the small B (k x n, at most 1 MiB at k = 2048) once per call.
// An AVX-512 micro-kernel keeps a tile of C (6 rows x 64 columns) in zmm accumulators,
// broadcasts A[r][p] and multiplies it with row p of the packed B.
//
// Scope: A not transposed, n in [1, 128] (a column count that is not a multiple of 16 is
// handled with masked stores), any k >= 1 and m >= 1, alpha, beta (beta == 0 never reads
// C), batches with strides. B may be transposed (packing transposes it for free). Rows
// may be split over threads. Accumulation order differs from OpenBLAS (each element sums
// its products in blocks of 128 values of p, then alpha * sum + beta * C); the error is
// no larger than OpenBLAS's.
// No CUDA twin: an AVX-512 kernel for what OpenBLAS does badly; on CUDA cuBLAS does these
// products (kernels/cuda/gemm.h).
// Tests: tests/kernels/test_gemm_skinny.cpp (against a double-precision triple loop);
// benchmark against cblas_sgemm: bench/bench_gemm_skinny.cpp.
#pragma once
#include "kernels/common/gemm_shape.h"

namespace hl::cpu {

// Whether this CPU can run the kernel (AVX-512F).
bool gemm_skinny_supported();

// Whether gemm_skinny_f32 takes the shape (see Scope above) at all, regardless of size.
bool gemm_skinny_shape_ok(const GemmShape& s);

// Whether gemm_f32 should use gemm_skinny_f32 for s: supported CPU, shape in scope and
// large enough to beat cblas_sgemm (thresholds measured with bench/bench_gemm_skinny.cpp).
bool gemm_skinny_preferred(const GemmShape& s);

// Requires gemm_skinny_supported() and gemm_skinny_shape_ok(s); throws hl::Error otherwise.
// Splits each batch entry's rows over up to `threads` threads (the calling one and the
// engine's pool, kernels/cpu/parallel.h, which also caps them at HL_NUM_THREADS) when the
// entry is large enough to pay for them.
void gemm_skinny_f32(const GemmShape& s, const float* a, const float* b, float* c, int threads = 1);

}  // namespace hl::cpu
