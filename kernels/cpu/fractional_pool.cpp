#include "kernels/cpu/fractional_pool.h"

#include <cmath>
#include <string>

#include "kernels/common/error.h"

namespace hl::cpu {

std::vector<int64_t> multisensory_pool_boundaries(int64_t rows) {
  // Printed by tests/nets/make_multisensory_ops_fixtures.py from TensorFlow 2.21's
  // row_pooling_sequence; the test checks them against ops.json.
  if (rows == 86)
    return {0,  3,  5,  8,  11, 13, 16, 19, 21, 24, 27, 29, 32, 35, 37, 40, 43,
            46, 48, 51, 54, 56, 59, 62, 64, 67, 70, 72, 75, 78, 80, 83, 86};
  if (rows == 44) return {0, 3, 5, 8, 11, 14, 16, 19, 22, 25, 27, 30, 33, 36, 38, 41, 44};
  throw Error("multisensory fractional pool: " + std::to_string(rows) +
              " sound steps; only the publisher's clip lengths (86 for 4.2 s, 44 for 2.135 s) are known");
}

void fractional_maxpool_rows_f32(int64_t batch, int64_t rows, int64_t width, int64_t channels,
                                 const std::vector<int64_t>& boundaries, const float* x, float* y) {
  if (batch <= 0 || rows <= 0 || width <= 0 || channels <= 0)
    throw Error("fractional_maxpool: sizes must be positive");
  if (boundaries.size() < 2 || boundaries.front() != 0 || boundaries.back() != rows)
    throw Error("fractional_maxpool: the boundaries must run from 0 to " + std::to_string(rows));
  for (size_t i = 1; i < boundaries.size(); ++i)
    if (boundaries[i] <= boundaries[i - 1]) throw Error("fractional_maxpool: the boundaries must increase");
  const int64_t n_out = static_cast<int64_t>(boundaries.size()) - 1;
  const int64_t row = width * channels;  // one row of x: [width, channels]
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < n_out; ++i) {
      float* yp = y + (b * n_out + i) * row;
      const float* first = x + (b * rows + boundaries[i]) * row;
      for (int64_t k = 0; k < row; ++k) yp[k] = first[k];
      for (int64_t r = boundaries[i] + 1; r < boundaries[i + 1]; ++r) {
        const float* xp = x + (b * rows + r) * row;
        for (int64_t k = 0; k < row; ++k)
          if (xp[k] > yp[k] || xp[k] != xp[k]) yp[k] = xp[k];
      }
    }
}

void mu_law_compand_f32(const float* x, float* y, int64_t n) {
  const double inv_log256 = 1.0 / std::log(256.0);
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i];
    const double m = std::log1p(255.0 * std::fabs(v)) * inv_log256;
    y[i] = static_cast<float>(v > 0 ? m : (v < 0 ? -m : v));  // sign(0) = 0; NaN stays NaN
  }
}

}  // namespace hl::cpu
