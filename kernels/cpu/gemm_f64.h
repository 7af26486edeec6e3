// f64 GEMM through OpenBLAS cblas_dgemm, with the same GemmShape as gemm_f32 (alpha and
// beta are taken as given). It exists so that the kernels templated on the element type
// (linear, conv1d, lstm) can run in double for the finite-difference gradient checks;
// gemm() picks gemm_f32 or gemm_f64 by pointer type.
// No CUDA twin: double precision exists only for the checks, which run on the CPU.
// Tests: through those kernels' finite-difference checks, tests/ops/test_op_table.cpp
// (rows in tests/ops/rows_dense.cpp, rows_conv.cpp, rows_lstm.cpp).
#pragma once
#include "kernels/common/gemm_shape.h"
#include "kernels/cpu/gemm.h"

namespace hl::cpu {

void gemm_f64(const GemmShape& s, const double* a, const double* b, double* c);

inline void gemm(const GemmShape& s, const float* a, const float* b, float* c) { gemm_f32(s, a, b, c); }
inline void gemm(const GemmShape& s, const double* a, const double* b, double* c) { gemm_f64(s, a, b, c); }

}  // namespace hl::cpu
