// Deterministic random numbers from Philox4x32-10 (kernels/cuda/random.h), the same
// streams as kernels/cpu/random.cpp:
//   uniform: y[i] = lo + (hi - lo) * u(word offset + i)
//   normal:  y[i] = mean + std * sqrt(-2 ln u(word 2j)) * cos(2 pi u(word 2j + 1)), j = offset + i
// One Philox call yields four words, so each thread computes one counter block and
// writes the (up to) four uniform outputs, or two normal outputs, that it covers,
// instead of recomputing the block for every word as the per-element CPU loop does.
//
// Parity contract (tests/cuda/test_cuda_kernels.cpp):
// - uniform is bit-identical to the CPU. The words are integer arithmetic; the float
//   steps are exact or single IEEE operations, written with __fmul_rn/__fadd_rn so that
//   nvcc cannot contract them into an FMA (which rounds once instead of twice and would
//   differ from the CPU in the last bit).
// - normal agrees to f32 rounding: Box-Muller runs in double on both sides, but CUDA's
//   double log/cos may differ from glibc's by an ulp of double, which very rarely moves
//   the final f32 rounding by one ulp.
#include <cstdint>

#include "kernels/common/philox.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/random.h"

namespace hl::cuda {
namespace {

__device__ __forceinline__ Philox4 philox_block(uint64_t seed, uint64_t block) {
  const Philox4 counter{{static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32), 0u, 0u}};
  return philox4x32_10(counter, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

// Thread t handles counter block first_block + t; word w of the stream lives in block
// w / 4 at position w % 4 (kernels/common/philox.h, philox_word).
__global__ void uniform_kernel(uint64_t seed, uint64_t offset, float* y, int64_t n, uint64_t first_block,
                               int64_t blocks, float lo, float hi) {
  const float range = hi - lo;
  for (int64_t t = grid_first(); t < blocks; t += grid_stride()) {
    const uint64_t block = first_block + static_cast<uint64_t>(t);
    const Philox4 r = philox_block(seed, block);
    for (int j = 0; j < 4; ++j) {
      const uint64_t word = block * 4 + static_cast<uint64_t>(j);
      if (word < offset) continue;  // wraparound-free: offset + n fits the 64-bit counter space
      const uint64_t i = word - offset;
      if (i >= static_cast<uint64_t>(n)) break;
      y[i] = __fadd_rn(lo, __fmul_rn(range, philox_uniform(r.v[j])));
    }
  }
}

// Output element e uses words 2(offset + e) and 2(offset + e) + 1, so block b holds the
// pairs of elements e with offset + e = 2b and 2b + 1.
__global__ void normal_kernel(uint64_t seed, uint64_t offset, float* y, int64_t n, uint64_t first_block,
                              int64_t blocks, float mean, float std) {
  constexpr double kTwoPi = 6.283185307179586476925286766559;
  for (int64_t t = grid_first(); t < blocks; t += grid_stride()) {
    const uint64_t block = first_block + static_cast<uint64_t>(t);
    const Philox4 r = philox_block(seed, block);
    for (int pair = 0; pair < 2; ++pair) {
      const uint64_t j = block * 2 + static_cast<uint64_t>(pair);
      if (j < offset) continue;
      const uint64_t i = j - offset;
      if (i >= static_cast<uint64_t>(n)) break;
      const double u1 = philox_uniform(r.v[2 * pair]);
      const double u2 = philox_uniform(r.v[2 * pair + 1]);
      // The CPU evaluates mean + std * z as separate double operations; keep them separate.
      const double z = __dmul_rn(sqrt(__dmul_rn(-2.0, log(u1))), cos(__dmul_rn(kTwoPi, u2)));
      y[i] = static_cast<float>(__dadd_rn(static_cast<double>(mean), __dmul_rn(static_cast<double>(std), z)));
    }
  }
}

}  // namespace

void uniform_f32(uint64_t seed, uint64_t offset, float* y, int64_t n, float lo, float hi, cudaStream_t stream) {
  if (n <= 0) return;
  const uint64_t first_block = offset / 4;
  const uint64_t last_block = (offset + static_cast<uint64_t>(n) - 1) / 4;
  const auto blocks = static_cast<int64_t>(last_block - first_block + 1);
  uniform_kernel<<<grid_blocks(blocks), kBlockThreads, 0, stream>>>(seed, offset, y, n, first_block, blocks, lo, hi);
  HL_CUDA_LAUNCH_CHECK();
}

void normal_f32(uint64_t seed, uint64_t offset, float* y, int64_t n, float mean, float std, cudaStream_t stream) {
  if (n <= 0) return;
  const uint64_t first_block = offset / 2;
  const uint64_t last_block = (offset + static_cast<uint64_t>(n) - 1) / 2;
  const auto blocks = static_cast<int64_t>(last_block - first_block + 1);
  normal_kernel<<<grid_blocks(blocks), kBlockThreads, 0, stream>>>(seed, offset, y, n, first_block, blocks, mean, std);
  HL_CUDA_LAUNCH_CHECK();
}

}  // namespace hl::cuda
