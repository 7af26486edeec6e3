// The CPU LSTM backward writes gradients that decay below the smallest normal float as
// zero (kernels/cpu/lstm.cpp, cell_backward: denormals made x86 multiply slowly). Checked
// against the same backward in double precision: where the double gradient is a
// denormal-sized number the float one is exactly zero, and where it is comfortably
// normal the two agree. A gradient carried back through 300 steps of a cell with a
// small forget gate and recurrent weights decays geometrically through that range.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "kernels/cpu/lstm.h"

namespace {

template <typename T>
std::vector<T> input_gradient(const hl::cpu::LstmShape& s) {
  const int64_t G = 4 * s.hidden;
  std::vector<T> x(static_cast<size_t>(s.batch * s.time * s.input));
  for (size_t i = 0; i < x.size(); ++i) x[i] = T(0.1) + T(0.01) * static_cast<T>(i % 7);
  const std::vector<T> w(static_cast<size_t>(s.input * G), T(0.5)), u(static_cast<size_t>(s.hidden * G), T(0.3));
  std::vector<T> b(static_cast<size_t>(G), T(0));
  for (int64_t j = 0; j < s.hidden; ++j) b[static_cast<size_t>(s.hidden + j)] = T(-1);  // forget gate ~0.27
  const size_t states = static_cast<size_t>(s.batch * s.time * s.hidden);
  std::vector<T> hs(states), cs(states), gates(states * 4), dhs(states, T(0));
  hl::cpu::lstm_forward(s, x.data(), w.data(), u.data(), b.data(), static_cast<const T*>(nullptr), hs.data(),
                        cs.data(), gates.data());
  for (int64_t bi = 0; bi < s.batch; ++bi)  // the loss sees only the last state, as in the model
    for (int64_t j = 0; j < s.hidden; ++j) dhs[static_cast<size_t>(((bi + 1) * s.time - 1) * s.hidden + j)] = T(1);
  std::vector<T> dx(x.size()), dw(w.size()), du(u.size()), db(b.size());
  hl::cpu::lstm_backward(s, x.data(), w.data(), u.data(), static_cast<const T*>(nullptr), hs.data(), cs.data(),
                         gates.data(), dhs.data(), dx.data(), dw.data(), du.data(), db.data());
  return dx;
}

TEST(LstmTinyGradients, DenormalGradientsAreZeroNormalOnesMatchDouble) {
  hl::cpu::LstmShape s;
  s.batch = 2, s.time = 300, s.input = 3, s.hidden = 2;
  const std::vector<float> got = input_gradient<float>(s);
  const std::vector<double> want = input_gradient<double>(s);
  const double smallest_normal = std::numeric_limits<float>::min();
  int denormal_sized = 0, normal_sized = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double m = std::fabs(want[i]);
    if (m > 0 && m < 0.1 * smallest_normal) {
      ++denormal_sized;
      EXPECT_EQ(got[i], 0.0f) << "element " << i << ": double gradient " << want[i];
    } else if (m > 1e-30) {
      ++normal_sized;
      EXPECT_NEAR(got[i], want[i], 1e-4 * m) << "element " << i;
    }
  }
  // The setup must reach both regimes, or the checks above prove nothing.
  EXPECT_GT(denormal_sized, 10);
  EXPECT_GT(normal_sized, 10);
}

}  // namespace
