#include "engine/shuffle.h"

#include <numeric>
#include <string>

#include "engine/error.h"
#include "kernels/common/philox.h"

namespace hl {

uint64_t seeded_index(uint64_t bound, uint64_t seed, uint64_t stream, uint64_t index) {
  // Two words make 64 random bits; the modulo bias is below 2^-32 for any bound we use.
  const uint64_t base = (stream << 32) + 2 * index;
  const uint64_t r = (static_cast<uint64_t>(philox_word(seed, base)) << 32) | philox_word(seed, base + 1);
  return r % bound;
}

std::vector<size_t> seeded_permutation(size_t n, uint64_t seed, uint64_t stream) {
  std::vector<size_t> p(n);
  std::iota(p.begin(), p.end(), size_t{0});
  for (size_t i = n; i > 1; --i) std::swap(p[i - 1], p[seeded_index(i, seed, stream, i)]);
  return p;
}

std::vector<int> kfold_assignment(size_t n, int k, uint64_t seed) {
  if (k < 2) throw Error("cross-validation needs at least 2 folds (got " + std::to_string(k) + ")");
  if (static_cast<size_t>(k) > n)
    throw Error(std::to_string(k) + " folds need at least " + std::to_string(k) + " videos (there are " +
                std::to_string(n) + ")");
  const std::vector<size_t> order = seeded_permutation(n, seed, /*stream=*/0xF01D);
  std::vector<int> fold(n);
  for (size_t i = 0; i < n; ++i) fold[order[i]] = static_cast<int>(i % static_cast<size_t>(k));
  return fold;
}

}  // namespace hl
