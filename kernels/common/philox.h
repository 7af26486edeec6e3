// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11),
// the counter-based generator also used by cuRAND and PyTorch's CUDA backend. The same
// (seed, counter) gives the same four 32-bit words on the CPU and on a CUDA device, so
// initialisation and dropout masks do not depend on where they are computed.
// Tested against the known-answer vectors published with Random123.
#pragma once
#include <cstdint>

#include "kernels/common/hd.h"

namespace hl {

struct Philox4 {
  uint32_t v[4];
};

HL_HD void philox_mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  uint64_t p = static_cast<uint64_t>(a) * b;
  hi = static_cast<uint32_t>(p >> 32);
  lo = static_cast<uint32_t>(p);
}

// Ten rounds over counter c with key k.
HL_HD Philox4 philox4x32_10(Philox4 c, uint32_t k0, uint32_t k1) {
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, lo0, hi1, lo1;
    philox_mulhilo(0xD2511F53u, c.v[0], hi0, lo0);
    philox_mulhilo(0xCD9E8D57u, c.v[2], hi1, lo1);
    c = Philox4{{hi1 ^ c.v[1] ^ k0, lo1, hi0 ^ c.v[3] ^ k1, lo0}};
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return c;
}

// The i-th 32-bit word of the stream for `seed`: block i/4 of the counter sequence.
HL_HD uint32_t philox_word(uint64_t seed, uint64_t i) {
  uint64_t block = i >> 2;
  Philox4 c{{static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32), 0u, 0u}};
  Philox4 r = philox4x32_10(c, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
  return r.v[i & 3];
}

// A float in (0, 1]: the top 24 bits of a word, shifted by one ulp so log() is finite.
HL_HD float philox_uniform(uint32_t word) { return (static_cast<float>(word >> 8) + 1.0f) * (1.0f / 16777216.0f); }

}  // namespace hl
