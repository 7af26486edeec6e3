// f16 -> f32 with the F16C instruction (vcvtph2ps, 8 values at a time) where the CPU has
// it, the scalar kernel (kernels/cpu/cast.h) elsewhere and for the tail. The hot path of
// training: the stored features are f16 and every batch converts its rows.
//
// Every non-NaN f16 converts to exactly the value cpu::f16_to_f32 gives; a NaN stays a NaN
// (vcvtph2ps quiets a signalling NaN, so its payload bits may differ from the scalar
// kernel's, which is why cpu::f16_to_f32 itself stays scalar: its tests check every bit
// pattern against the IEEE definition).
//
// Tests: tests/kernels/test_cast_f16c.cpp (every f16 bit pattern, vector widths and
// tails, the non-finite flag against the f16 bits); through the dataset,
// tests/pipeline/test_segment_dataset.cpp (FeatureRows.*).
#pragma once
#include <cstdint>

namespace hl::cpu {

// y[0, n) = x[0, n) as f32.
void f16_to_f32_fast(const uint16_t* x, float* y, int64_t n);

// The same conversion; returns whether any of the n values is non-finite (an f16 whose
// exponent bits are all ones: an infinity or a NaN), found while converting.
bool f16_to_f32_fast_any_non_finite(const uint16_t* x, float* y, int64_t n);

}  // namespace hl::cpu
