// Reductions along one dimension of [outer, n, inner].
#include "kernels/cpu/reduce.h"

#include <cmath>
#include <vector>

#include "kernels/cpu/lane_reduce.h"
#include "kernels/cpu/vec_math.h"

namespace hl::cpu {

namespace {

// Sums in double, walking n in the outer loop so reads stay contiguous along inner; a
// reduction over the last dimension (inner == 1, a row sum) sums each row in lanes.
HL_SIMD_CLONES void sum_dim_double(const float* x, double* acc, int64_t outer, int64_t n, int64_t inner) {
  if (inner == 1) {
    for (int64_t o = 0; o < outer; ++o) acc[o] = lanes::sum(x + o * n, n);
    return;
  }
  for (int64_t o = 0; o < outer; ++o) {
    double* a = acc + o * inner;
    for (int64_t j = 0; j < inner; ++j) a[j] = 0.0;
    for (int64_t r = 0; r < n; ++r) {
      const float* row = x + (o * n + r) * inner;
      for (int64_t j = 0; j < inner; ++j) a[j] += row[j];
    }
  }
}

}  // namespace

void sum_dim_f32(const float* x, float* y, int64_t outer, int64_t n, int64_t inner) {
  std::vector<double> acc(static_cast<size_t>(outer * inner));
  sum_dim_double(x, acc.data(), outer, n, inner);
  for (size_t i = 0; i < acc.size(); ++i) y[i] = static_cast<float>(acc[i]);
}

void mean_dim_f32(const float* x, float* y, int64_t outer, int64_t n, int64_t inner) {
  std::vector<double> acc(static_cast<size_t>(outer * inner));
  sum_dim_double(x, acc.data(), outer, n, inner);
  // Mean over zero elements is NaN, as in PyTorch.
  for (size_t i = 0; i < acc.size(); ++i) y[i] = static_cast<float>(acc[i] / static_cast<double>(n));
}

void max_dim_f32(const float* x, float* y, int64_t outer, int64_t n, int64_t inner) {
  for (int64_t o = 0; o < outer; ++o) {
    float* out = y + o * inner;
    const float* first = x + o * n * inner;
    for (int64_t j = 0; j < inner; ++j) out[j] = first[j];
    for (int64_t r = 1; r < n; ++r) {
      const float* row = first + r * inner;
      for (int64_t j = 0; j < inner; ++j) {
        // NaN wins, as torch.max does.
        if (std::isnan(row[j]) || row[j] > out[j]) out[j] = std::isnan(out[j]) ? out[j] : row[j];
      }
    }
  }
}

}  // namespace hl::cpu
