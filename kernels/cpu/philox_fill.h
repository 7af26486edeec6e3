// Many consecutive words of the Philox4x32-10 stream at once (kernels/common/philox.h):
// words[i] == philox_word(seed, offset + i). philox_word computes a whole 4-word block
// for every word it returns; this computes each block once and runs 16 blocks side by
// side so the compiler vectorises the rounds (with AVX-512/AVX2 clones chosen at run
// time). Dropout masks and random initialisation draw tens of millions of words per
// training step, where the per-word form was 13% of the CPU step.
// No CUDA twin: a CUDA thread computes its own words with philox_word.
// Tests: tests/kernels/test_philox.cpp (equality with philox_word at every alignment and
// length, for whichever version this CPU runs).
#pragma once
#include <cstdint>

namespace hl::cpu {

void philox_fill(uint64_t seed, uint64_t offset, uint32_t* words, int64_t n);

}  // namespace hl::cpu
