// Sums and means along a dimension split over the engine's threads by outer slice
// (kernels/cpu/reduce.cpp, issue 18 item 12): with two threads they give the same bits
// as with one, and both match a double-precision loop written here, for row sums
// (inner 1) and for a middle dimension (inner > 1), with a slice count that does not
// divide evenly between the threads.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/cpu/parallel.h"
#include "kernels/cpu/reduce.h"

namespace {

struct ThreadsFor {  // restores the thread setting when a test ends
  explicit ThreadsFor(int n) : saved(hl::cpu::num_threads()) { hl::cpu::set_num_threads(n); }
  ~ThreadsFor() { hl::cpu::set_num_threads(saved); }
  int saved;
};

TEST(ReduceThreads, SumAndMeanSplitOverThreadsMatchDoublesAndOneThread) {
  struct Case {
    int64_t outer, n, inner;
  };
  // [3001, 97, 1]: 291K inputs, so two ranges of rows; [601, 53, 7]: 223K inputs, two ranges of slices.
  for (Case c : {Case{3001, 97, 1}, Case{601, 53, 7}}) {
    const std::string shape =
        "[" + std::to_string(c.outer) + "," + std::to_string(c.n) + "," + std::to_string(c.inner) + "]";
    std::vector<float> x(static_cast<size_t>(c.outer * c.n * c.inner));
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(std::sin(0.37 * static_cast<double>(i + 1)) + 0.25);
    const size_t out = static_cast<size_t>(c.outer * c.inner);
    std::vector<float> sum1(out), mean1(out), sum2(out), mean2(out);
    {
      ThreadsFor one(1);
      hl::cpu::sum_dim_f32(x.data(), sum1.data(), c.outer, c.n, c.inner);
      hl::cpu::mean_dim_f32(x.data(), mean1.data(), c.outer, c.n, c.inner);
    }
    {
      ThreadsFor two(2);
      hl::cpu::sum_dim_f32(x.data(), sum2.data(), c.outer, c.n, c.inner);
      hl::cpu::mean_dim_f32(x.data(), mean2.data(), c.outer, c.n, c.inner);
    }
    EXPECT_EQ(sum1, sum2) << "sum " << shape;
    EXPECT_EQ(mean1, mean2) << "mean " << shape;
    for (int64_t o = 0; o < c.outer; ++o)
      for (int64_t j = 0; j < c.inner; ++j) {
        double s = 0;
        for (int64_t r = 0; r < c.n; ++r) s += x[static_cast<size_t>((o * c.n + r) * c.inner + j)];
        const size_t k = static_cast<size_t>(o * c.inner + j);
        // 1e-6 of the row's magnitude (at most n): the sums are in double.
        ASSERT_NEAR(sum2[k], s, 1e-6 * static_cast<double>(c.n)) << "sum " << shape << " at " << k;
        ASSERT_NEAR(mean2[k], s / static_cast<double>(c.n), 1e-6) << "mean " << shape << " at " << k;
      }
  }
}

}  // namespace
