// f32 GEMM on the CPU through OpenBLAS cblas_sgemm (row-major), one call per batch entry.
// Tests: against a naive double-precision triple loop.
#pragma once
#include "kernels/common/gemm_shape.h"

namespace hl::cpu {

void gemm_f32(const GemmShape& s, const float* a, const float* b, float* c);

}  // namespace hl::cpu
