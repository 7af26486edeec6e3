// Reductions of a contiguous float row with 8 independent partial results ("lanes"),
// combined at the end. Why: a single running sum is a chain of dependent adds that
// the compiler may not reorder (no -ffast-math), so it runs one add per 4 cycles;
// eight lanes are eight independent chains, which the AVX-512/AVX2 clones of the
// calling loop (HL_SIMD_CLONES) turn into one vector add. Sums are in double, as the
// kernels' sums always were, so the result agrees with a serial double sum to ~1e-16
// relative before rounding to float.
// Inline, always: they must be compiled inside the caller's vector clone.
// No CUDA twin: a CPU vectorisation device (the CUDA kernels reduce in their own trees).
// Tests: through its callers, tests/kernels/test_softmax_rows.cpp,
// tests/kernels/test_cpu_kernels.cpp (reductions) and tests/ops/test_op_table.cpp
// (softmax, layer norm, sum and mean rows).
#pragma once
#include <cstdint>

namespace hl::cpu::lanes {

inline constexpr int64_t kLanes = 8;

[[gnu::always_inline]] inline double combine(const double (&acc)[kLanes]) {
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// sum x[i]. Long rows first go 32 at a time into four sets of lanes (four independent
// vector chains: the add latency, not the loads, limits a single chain).
[[gnu::always_inline]] inline double sum(const float* __restrict x, int64_t n) {
  double acc[kLanes] = {};
  int64_t i = 0;
  if (n >= 4 * kLanes) {
    double wide[4][kLanes] = {};
    for (; i + 4 * kLanes <= n; i += 4 * kLanes)
      for (int64_t c = 0; c < 4; ++c)
        for (int64_t l = 0; l < kLanes; ++l) wide[c][l] += static_cast<double>(x[i + c * kLanes + l]);
    for (int64_t l = 0; l < kLanes; ++l) acc[l] = (wide[0][l] + wide[1][l]) + (wide[2][l] + wide[3][l]);
  }
  for (; i + kLanes <= n; i += kLanes)
    for (int64_t l = 0; l < kLanes; ++l) acc[l] += static_cast<double>(x[i + l]);
  for (; i < n; ++i) acc[0] += static_cast<double>(x[i]);
  return combine(acc);
}

// sum (x[i] - mean)^2
[[gnu::always_inline]] inline double sum_squared_deviation(const float* __restrict x, int64_t n, double mean) {
  double acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int64_t l = 0; l < kLanes; ++l) {
      const double c = static_cast<double>(x[i + l]) - mean;
      acc[l] += c * c;
    }
  for (; i < n; ++i) {
    const double c = static_cast<double>(x[i]) - mean;
    acc[0] += c * c;
  }
  return combine(acc);
}

// sum a[i] * b[i]
[[gnu::always_inline]] inline double dot(const float* __restrict a, const float* __restrict b, int64_t n) {
  double acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int64_t l = 0; l < kLanes; ++l) acc[l] += static_cast<double>(a[i + l]) * static_cast<double>(b[i + l]);
  for (; i < n; ++i) acc[0] += static_cast<double>(a[i]) * static_cast<double>(b[i]);
  return combine(acc);
}

// sum a[i] b[i] (x[i] - mean) (LayerNorm's backward: a = dy, b = g). One reduction per
// loop: with two, GCC left the loop scalar (perf, issue 18).
[[gnu::always_inline]] inline double dot_deviation(const float* __restrict a, const float* __restrict b,
                                                   const float* __restrict x, int64_t n, double mean) {
  double acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int64_t l = 0; l < kLanes; ++l) {
      const double u = static_cast<double>(a[i + l]) * static_cast<double>(b[i + l]);
      acc[l] += u * (static_cast<double>(x[i + l]) - mean);
    }
  for (; i < n; ++i) {
    const double u = static_cast<double>(a[i]) * static_cast<double>(b[i]);
    acc[0] += u * (static_cast<double>(x[i]) - mean);
  }
  return combine(acc);
}

// max x[i] for n >= 1; NaN entries are skipped (v > m is false for them), as
// std::max(m, v) skipped them in the serial loops this replaces.
[[gnu::always_inline]] inline float max(const float* __restrict x, int64_t n) {
  float acc[kLanes];
  for (int64_t l = 0; l < kLanes; ++l) acc[l] = x[0];
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int64_t l = 0; l < kLanes; ++l) acc[l] = x[i + l] > acc[l] ? x[i + l] : acc[l];
  for (; i < n; ++i) acc[0] = x[i] > acc[0] ? x[i] : acc[0];
  float m = acc[0];
  for (int64_t l = 1; l < kLanes; ++l) m = acc[l] > m ? acc[l] : m;
  return m;
}

}  // namespace hl::cpu::lanes
