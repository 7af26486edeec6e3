// Seeded, counter-based shuffles and splits for training (k-fold cross-validation by
// video, validation parts, epoch orders, pair sampling). Every result is a pure function
// of (seed, stream, n), computed from Philox words, so a run restarted from a checkpoint
// draws exactly what an uninterrupted run would.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace hl {

// A permutation of 0..n-1 (Fisher–Yates over Philox words of `seed` starting at
// word `stream` · 2^32).
std::vector<size_t> seeded_permutation(size_t n, uint64_t seed, uint64_t stream);

// The fold (0..k-1) of each of n items: a seeded permutation dealt round-robin, so fold
// sizes differ by at most one. Throws hl::Error when k < 2 or k > n.
std::vector<int> kfold_assignment(size_t n, int k, uint64_t seed);

// A uniform integer in [0, bound) from word `index` of the stream (bound >= 1).
uint64_t seeded_index(uint64_t bound, uint64_t seed, uint64_t stream, uint64_t index);

}  // namespace hl
