#include "engine/optim/init.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "engine/ops.h"

namespace hl::optim {

Tensor glorot_uniform(const Shape& shape, uint64_t seed, uint64_t offset) {
  if (shape.ndim() < 2) throw Error("glorot_uniform: needs [..., in, out], got " + shape.str());
  double receptive = 1;
  for (int i = 0; i < shape.ndim() - 2; ++i) receptive *= static_cast<double>(shape[i]);
  const double fan_in = receptive * static_cast<double>(shape[shape.ndim() - 2]);
  const double fan_out = receptive * static_cast<double>(shape[shape.ndim() - 1]);
  const float limit = static_cast<float>(std::sqrt(6.0 / (fan_in + fan_out)));
  return ops::uniform(shape, seed, offset, -limit, limit);
}

Tensor orthogonal(int64_t rows, int64_t cols, uint64_t seed, uint64_t offset, float gain) {
  if (rows < 1 || cols < 1) throw Error("orthogonal: empty shape");
  const int64_t m = std::max(rows, cols), n = std::min(rows, cols);
  const Tensor a = ops::normal(Shape{m, n}, seed, offset, 0.0f, 1.0f);
  std::vector<double> q(static_cast<size_t>(m * n));  // [m, n], column j orthonormalised in turn
  for (int64_t i = 0; i < m * n; ++i) q[i] = a.data<float>()[i];
  for (int64_t j = 0; j < n; ++j) {
    const double original = [&] {
      double s = 0;
      for (int64_t r = 0; r < m; ++r) s += q[r * n + j] * q[r * n + j];
      return std::sqrt(s);
    }();
    for (int pass = 0; pass < 2; ++pass)  // the second pass restores orthogonality lost to rounding
      for (int64_t k = 0; k < j; ++k) {
        double dot = 0;
        for (int64_t r = 0; r < m; ++r) dot += q[r * n + k] * q[r * n + j];
        for (int64_t r = 0; r < m; ++r) q[r * n + j] -= dot * q[r * n + k];
      }
    double norm = 0;
    for (int64_t r = 0; r < m; ++r) norm += q[r * n + j] * q[r * n + j];
    norm = std::sqrt(norm);
    if (!(norm > 1e-10 * original)) throw Error("orthogonal: the random matrix is rank deficient");
    for (int64_t r = 0; r < m; ++r) q[r * n + j] /= norm;  // dividing by the positive R[j][j]: the sign fix
  }
  Tensor out = Tensor::empty(Shape{rows, cols}, DType::F32);
  float* o = out.data<float>();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      o[r * cols + c] = static_cast<float>(gain * (rows >= cols ? q[r * n + c] : q[c * n + r]));
  return out;
}

Tensor lstm_bias(int64_t hidden, bool unit_forget_bias) {
  Tensor b = Tensor::zeros(Shape{4 * hidden}, DType::F32);
  if (unit_forget_bias)
    for (int64_t i = hidden; i < 2 * hidden; ++i) b.data<float>()[i] = 1.0f;
  return b;
}

}  // namespace hl::optim
