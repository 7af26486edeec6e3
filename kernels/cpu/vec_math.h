// Branch-free float math that the compiler vectorises: e^x, the logistic sigmoid and
// tanh, for loops over activations. Why not std::exp/std::tanh: glibc's are scalar calls
// (tanhf goes through expm1f), which made the activations ~10% of the CPU training step.
//
// The polynomials are Cephes's (expf, tanhf; S. L. Moshier), whose relative error is
// about 1e-7 over the ranges used here; tests/kernels/test_vec_math.cpp checks every
// function against double-precision std::exp/std::tanh on a dense sweep (and NaN, ±inf).
// Results can differ from glibc's in the last bit or two, well inside the 1e-5 relative
// tolerance of the PyTorch goldens.
// No CUDA twin: CUDA kernels use the CUDA math library's expf/tanhf.
// Tests: tests/kernels/test_vec_math.cpp.
//
// Use inside loops in functions marked HL_SIMD_CLONES: GCC then builds AVX-512, AVX2 and
// baseline versions of the loop and picks one at load time.
#pragma once
#include <bit>
#include <cmath>
#include <cstdint>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define HL_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define HL_SIMD_CLONES
#endif

namespace hl::cpu::vec {

// e^x for x <= 0. Below -87 the result is 0 (e^-87 = 1.6e-38: smaller values would be
// denormal, which x86 handles slowly; the error is under the smallest normal float).
// NaN gives NaN. Callers pass -|v|, so nothing overflows.
inline float exp_nonpositive(float x) {
  const bool underflow = x < -87.0f;
  x = underflow ? -87.0f : x;
  // n = round(x / ln 2) with the 1.5 * 2^23 trick (the sum's low mantissa bits are n).
  constexpr float kShifter = 12582912.0f;
  const float shifted = x * 1.44269504088896341f + kShifter;
  const float n = shifted - kShifter;
  const int32_t ni = std::bit_cast<int32_t>(shifted) - std::bit_cast<int32_t>(kShifter);
  // r = x - n ln 2 in two parts (Cody-Waite), |r| <= ln 2 / 2.
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float er = p * (r * r) + r + 1.0f;  // e^r
  const float y = er * std::bit_cast<float>((ni + 127) << 23);  // * 2^n, n in [-126, 0]
  return underflow ? 0.0f : y;
}

// 1 / (1 + e^-v), through e = e^-|v| so it never overflows: 1 / (1 + e) for v >= 0,
// e / (1 + e) below (one division either way).
inline float sigmoid(float v) {
  const float e = exp_nonpositive(-std::fabs(v));
  return (v >= 0.0f ? 1.0f : e) / (1.0f + e);
}

// tanh v: Cephes's odd polynomial for |v| < 0.625 (where 1 - 2/(e^2v + 1) would lose
// digits), (1 - e^-2|v|) / (1 + e^-2|v|) with v's sign elsewhere.
inline float tanh(float v) {
  const float a = std::fabs(v);
  const float z = v * v;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const float small = p * z * v + v;
  const float e = exp_nonpositive(-2.0f * a);
  const float large = std::copysign((1.0f - e) / (1.0f + e), v);
  return a < 0.625f ? small : large;
}

}  // namespace hl::cpu::vec
