#include "kernels/cpu/pool.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/parallel.h"
#include "kernels/cpu/vec_math.h"

namespace hl::cpu {

namespace {

// Whether the second of the pair (a first, b second) is the maximum: only when strictly
// larger, or NaN while a is not (NaN wins, the first NaN when both are; PyTorch's rule).
// Written without branches so the channel loops vectorise.
template <typename T>
inline bool second_wins(T a, T b) {
  return (b > a) | ((b != b) & (a == a));
}

// One output row: y[c] = max(x0[c], x1[c]) over the channels of two adjacent time steps.
template <typename T>
HL_SIMD_CLONES void pool_row_forward(const T* x0, const T* x1, T* y, int64_t channels) {
  for (int64_t c = 0; c < channels; ++c) y[c] = second_wins(x0[c], x1[c]) ? x1[c] : x0[c];
}

// The gradient of one output row goes to whichever input won; the other gets zero.
template <typename T>
HL_SIMD_CLONES void pool_row_backward(const T* x0, const T* x1, const T* dy, T* dx0, T* dx1, int64_t channels) {
  for (int64_t c = 0; c < channels; ++c) {
    const bool second = second_wins(x0[c], x1[c]);
    dx0[c] = second ? T(0) : dy[c];
    dx1[c] = second ? dy[c] : T(0);
  }
}

}  // namespace

template <typename T>
void maxpool1d_2_forward(const T* x, T* y, int64_t batch, int64_t time, int64_t channels) {
  const int64_t out_time = time / 2;
  parallel_for(batch, kElementwiseGrain / std::max<int64_t>(time * channels, 1) + 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b)
      for (int64_t t = 0; t < out_time; ++t) {
        const T* first = x + (b * time + 2 * t) * channels;
        pool_row_forward(first, first + channels, y + (b * out_time + t) * channels, channels);
      }
  });
}

template <typename T>
void maxpool1d_2_backward(const T* x, const T* dy, T* dx, int64_t batch, int64_t time, int64_t channels) {
  const int64_t out_time = time / 2;
  parallel_for(batch, kElementwiseGrain / std::max<int64_t>(time * channels, 1) + 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      for (int64_t t = 0; t < out_time; ++t) {
        const int64_t first = (b * time + 2 * t) * channels;
        pool_row_backward(x + first, x + first + channels, dy + (b * out_time + t) * channels, dx + first,
                          dx + first + channels, channels);
      }
      if (time % 2 == 1)  // the odd last step is in no window
        for (int64_t c = 0; c < channels; ++c) dx[(b * time + time - 1) * channels + c] = T(0);
    }
  });
}

template void maxpool1d_2_forward<float>(const float*, float*, int64_t, int64_t, int64_t);
template void maxpool1d_2_forward<double>(const double*, double*, int64_t, int64_t, int64_t);
template void maxpool1d_2_backward<float>(const float*, const float*, float*, int64_t, int64_t, int64_t);
template void maxpool1d_2_backward<double>(const double*, const double*, double*, int64_t, int64_t, int64_t);

}  // namespace hl::cpu
