// kernels/cpu/optim.h: the vectorised, threaded Adam update gives, for every length
// (vector bodies and their tails) and thread count, exactly the bits of the update
// written out element by element in f32 here, as torch.optim.Adam (1.13) computes it:
//   g = grad + wd * param; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2
//   param -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// and a NaN gradient gives NaN in that element only.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/cpu/optim.h"
#include "kernels/cpu/parallel.h"

namespace {

struct ThreadsFor {
  explicit ThreadsFor(int n) : saved(hl::cpu::num_threads()) { hl::cpu::set_num_threads(n); }
  ~ThreadsFor() { hl::cpu::set_num_threads(saved); }
  int saved;
};

struct AdamState {
  std::vector<float> param, grad, m, v;
};

AdamState make_state(int64_t n) {
  AdamState s;
  for (int64_t i = 0; i < n; ++i) {
    const double x = static_cast<double>(i);
    s.param.push_back(static_cast<float>(0.1 * std::sin(0.7 * x)));
    s.grad.push_back(static_cast<float>(0.01 * std::cos(1.3 * x)));
    s.m.push_back(static_cast<float>(0.001 * std::sin(2.1 * x)));
    s.v.push_back(static_cast<float>(1e-5 * (1.0 + std::cos(0.3 * x))));
  }
  return s;
}

// The update one element at a time, in f32 (the bias corrections in double, as the
// kernel's contract says).
void adam_by_element(const hl::cpu::AdamHyper& h, int64_t t, AdamState& s) {
  const float bias1 = static_cast<float>(1.0 - std::pow(static_cast<double>(h.beta1), static_cast<double>(t)));
  const float bias2_sqrt =
      static_cast<float>(std::sqrt(1.0 - std::pow(static_cast<double>(h.beta2), static_cast<double>(t))));
  const float step_size = h.lr / bias1;
  for (size_t i = 0; i < s.param.size(); ++i) {
    volatile float g = s.grad[i] + h.weight_decay * s.param[i];  // volatile: one rounding per step
    volatile float m = h.beta1 * s.m[i] + (1.0f - h.beta1) * g;
    volatile float gg = (1.0f - h.beta2) * g;
    volatile float v = h.beta2 * s.v[i] + gg * g;
    s.m[i] = m;
    s.v[i] = v;
    volatile float root = std::sqrt(static_cast<float>(v));
    volatile float denom = root / bias2_sqrt + h.eps;
    volatile float num = step_size * m;
    s.param[i] -= num / denom;
  }
}

size_t differing(const std::vector<float>& a, const std::vector<float>& b) {
  size_t n = 0;
  for (size_t i = 0; i < a.size(); ++i) n += std::memcmp(&a[i], &b[i], sizeof(float)) != 0;
  return n;
}

TEST(AdamKernel, EveryLengthAndThreadCountGivesTheElementwiseBits) {
  hl::cpu::AdamHyper h;
  h.weight_decay = 0.01f;
  for (int threads : {1, 2, 3})
    for (int64_t n : {int64_t{1}, int64_t{7}, int64_t{15}, int64_t{16}, int64_t{17}, int64_t{33}, int64_t{63},
                      int64_t{100}, int64_t{40000}}) {
      ThreadsFor t(threads);
      AdamState ours = make_state(n), expected = ours;
      for (int64_t step = 1; step <= 3; ++step) {
        hl::cpu::adam_step_f32(h, step, ours.param.data(), ours.grad.data(), ours.m.data(), ours.v.data(), n);
        adam_by_element(h, step, expected);
      }
      EXPECT_EQ(differing(ours.param, expected.param), 0u) << "n " << n << " threads " << threads;
      EXPECT_EQ(differing(ours.m, expected.m), 0u) << "n " << n << " threads " << threads;
      EXPECT_EQ(differing(ours.v, expected.v), 0u) << "n " << n << " threads " << threads;
    }
}

TEST(AdamKernel, NanGradientStaysInItsElement) {
  const int64_t n = 37;
  AdamState s = make_state(n);
  s.grad[20] = std::numeric_limits<float>::quiet_NaN();
  hl::cpu::adam_step_f32(hl::cpu::AdamHyper{}, 1, s.param.data(), s.grad.data(), s.m.data(), s.v.data(), n);
  for (int64_t i = 0; i < n; ++i) EXPECT_EQ(std::isnan(s.param[static_cast<size_t>(i)]), i == 20) << i;
}

}  // namespace
