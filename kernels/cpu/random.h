// Deterministic random numbers from Philox4x32-10 (kernels/common/philox.h).
// Element i of the output uses stream words (offset + i) of `seed` (uniform) or the pair
// 2(offset + i), 2(offset + i) + 1 (normal, Box-Muller), so any slice of a long stream can
// be produced independently and the CUDA kernels give bit-identical words.
// CUDA twin: kernels/cuda/random.h.
// Tests: tests/kernels/test_philox.cpp (the stream helpers), tests/engine/test_ops.cpp
// (seeded tensors); on CUDA tests/cuda/test_cuda_kernels.cpp and tests/cuda/test_cuda_ops.cpp.
#pragma once
#include <cstdint>

namespace hl::cpu {

// y[i] uniform in (lo, hi]
void uniform_f32(uint64_t seed, uint64_t offset, float* y, int64_t n, float lo, float hi);
// y[i] ~ N(mean, std^2)
void normal_f32(uint64_t seed, uint64_t offset, float* y, int64_t n, float mean, float std);

}  // namespace hl::cpu
