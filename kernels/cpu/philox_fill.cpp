#include "kernels/cpu/philox_fill.h"

#include <algorithm>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "kernels/common/philox.h"

namespace hl::cpu {

namespace {

constexpr int kLanes = 16;  // blocks computed side by side

// Blocks first_block .. first_block + 15 into out[block][word] (philox4x32_10 with the
// counter {block lo, block hi, 0, 0}, as philox_word uses it), in structure-of-arrays
// form: the portable version below, and an AVX-512 one (compilers do not vectorise the
// 32x32->64-bit products of the portable loop by themselves).
void philox_lanes_portable(uint32_t k0, uint32_t k1, uint64_t first_block, uint32_t out[kLanes][4]) {
  for (int l = 0; l < kLanes; ++l) {
    const Philox4 c{{static_cast<uint32_t>(first_block + l), static_cast<uint32_t>((first_block + l) >> 32), 0u, 0u}};
    const Philox4 r = philox4x32_10(c, k0, k1);
    for (int w = 0; w < 4; ++w) out[l][w] = r.v[w];
  }
}

#if defined(__x86_64__) && defined(__GNUC__)
// GCC 12's avx512fintrin.h trips its own -Wuninitialized on the intrinsics' internal
// "undefined" operands (GCC bug 105593, fixed in 12.3/13); the code below reads nothing
// uninitialised.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// hi and lo halves of a * m for 16 lanes of 32 bits: _mm512_mul_epu32 multiplies the
// even lanes (the low halves of 64-bit lanes); the odd lanes are shifted down first.
__attribute__((target("avx512f"))) inline void mulhilo16(__m512i a, __m512i m, __m512i& hi, __m512i& lo) {
  const __m512i even = _mm512_mul_epu32(a, m);
  const __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), m);
  hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
  lo = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
}

__attribute__((target("avx512f"))) void philox_lanes_avx512(uint32_t k0, uint32_t k1, uint64_t first_block,
                                                             uint32_t out[kLanes][4]) {
  alignas(64) uint32_t lo_words[kLanes], hi_words[kLanes];
  for (int l = 0; l < kLanes; ++l) {
    lo_words[l] = static_cast<uint32_t>(first_block + l);
    hi_words[l] = static_cast<uint32_t>((first_block + l) >> 32);
  }
  __m512i c0 = _mm512_load_si512(lo_words), c1 = _mm512_load_si512(hi_words);
  __m512i c2 = _mm512_setzero_si512(), c3 = _mm512_setzero_si512();
  const __m512i m0 = _mm512_set1_epi32(static_cast<int>(0xD2511F53u));
  const __m512i m1 = _mm512_set1_epi32(static_cast<int>(0xCD9E8D57u));
  for (int round = 0; round < 10; ++round) {
    __m512i hi0, lo0, hi1, lo1;
    mulhilo16(c0, m0, hi0, lo0);
    mulhilo16(c2, m1, hi1, lo1);
    const __m512i key0 = _mm512_set1_epi32(static_cast<int>(k0)), key1 = _mm512_set1_epi32(static_cast<int>(k1));
    c0 = _mm512_xor_si512(_mm512_xor_si512(hi1, c1), key0);
    c2 = _mm512_xor_si512(_mm512_xor_si512(hi0, c3), key1);
    c1 = lo1;
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  alignas(64) uint32_t w[4][kLanes];
  _mm512_store_si512(w[0], c0);
  _mm512_store_si512(w[1], c1);
  _mm512_store_si512(w[2], c2);
  _mm512_store_si512(w[3], c3);
  for (int l = 0; l < kLanes; ++l)
    for (int j = 0; j < 4; ++j) out[l][j] = w[j][l];
}

using LanesFn = void (*)(uint32_t, uint32_t, uint64_t, uint32_t[kLanes][4]);
#pragma GCC diagnostic pop
LanesFn choose_lanes() { return __builtin_cpu_supports("avx512f") ? philox_lanes_avx512 : philox_lanes_portable; }
#else
using LanesFn = void (*)(uint32_t, uint32_t, uint64_t, uint32_t[kLanes][4]);
LanesFn choose_lanes() { return philox_lanes_portable; }
#endif

}  // namespace

void philox_fill(uint64_t seed, uint64_t offset, uint32_t* words, int64_t n) {
  const uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  int64_t i = 0;
  // Up to the first block boundary, word by word.
  while (i < n && ((offset + static_cast<uint64_t>(i)) & 3) != 0) {
    words[i] = philox_word(seed, offset + static_cast<uint64_t>(i));
    ++i;
  }
  static const LanesFn lanes = choose_lanes();
  uint32_t blocks[kLanes][4];
  while (i < n) {
    const uint64_t block = (offset + static_cast<uint64_t>(i)) >> 2;
    lanes(k0, k1, block, blocks);
    const int64_t take = std::min<int64_t>(n - i, 4 * kLanes);
    const uint32_t* flat = &blocks[0][0];
    std::copy(flat, flat + take, words + i);
    i += take;
  }
}

}  // namespace hl::cpu
