// Reductions along one dimension. The input is viewed as [outer, n, inner] (row-major)
// and reduced over n into [outer, inner]. n must be >= 1 for max.
// Sums accumulate in double so that long reductions stay within 1e-6 of the exact value.
#pragma once
#include <cstdint>

namespace hl::cpu {

void sum_dim_f32(const float* x, float* y, int64_t outer, int64_t n, int64_t inner);
void mean_dim_f32(const float* x, float* y, int64_t outer, int64_t n, int64_t inner);
void max_dim_f32(const float* x, float* y, int64_t outer, int64_t n, int64_t inner);  // NaN wins

}  // namespace hl::cpu
