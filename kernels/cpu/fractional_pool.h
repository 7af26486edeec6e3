// The Multisensory network's sound-side ops (specs/multisensory.md, "Fusion" and "Inputs").
//
// fractional_maxpool_rows_f32: TensorFlow's fractional_max_pool along rows only
// (non-overlapping windows): x [batch, rows, width, channels] -> y [batch, n_out, width,
// channels], y[b, i] = max of x[b, r] over r in [boundaries[i], boundaries[i + 1]),
// boundaries = n_out + 1 increasing values from 0 to rows (TensorFlow's
// row_pooling_sequence). NaN wins.
//
// multisensory_pool_boundaries(rows): the windows TensorFlow chooses for merge()'s ratio
// (rows - 1) / n_out with pseudo_random=True, overlapping=False, deterministic=True,
// seed=1, seed2=2 (tf.compat.v1.nn.fractional_max_pool), for the two clip lengths the
// publisher uses: 86 rows -> 32 (4.2 s clips), 44 -> 16 (2.135 s). The publisher calls
// the op with its defaults (pseudo_random=False, deterministic=False): random windows at
// every run, so the published network has no single output; these fixed windows are our
// choice. Throws hl::Error for other lengths.
//
// mu_law_compand_f32: the publisher's normalize_sfs, y = sign(x) log(1 + 255 |x|) / log(256)
// (companding without quantisation), elementwise.
//
// Tests: tests/nets/test_multisensory_ops.cpp (TensorFlow's fractional_max_pool sequences
// and outputs, and TensorFlow's normalize_sfs, in tests/nets/multisensory_fixtures/ops.json).
#pragma once
#include <cstdint>
#include <vector>

namespace hl::cpu {

std::vector<int64_t> multisensory_pool_boundaries(int64_t rows);

// Throws hl::Error when `boundaries` does not run from 0 to `rows` strictly increasing.
void fractional_maxpool_rows_f32(int64_t batch, int64_t rows, int64_t width, int64_t channels,
                                 const std::vector<int64_t>& boundaries, const float* x, float* y);

void mu_law_compand_f32(const float* x, float* y, int64_t n);

}  // namespace hl::cpu
