#include "kernels/cpu/pool.h"

#include <cmath>

namespace hl::cpu {

namespace {
// Which of the pair (a first, b second) is the maximum: 1 for b only when strictly larger or NaN.
template <typename T>
int argmax2(T a, T b) {
  if (std::isnan(a)) return 0;
  return (b > a || std::isnan(b)) ? 1 : 0;
}
}  // namespace

template <typename T>
void maxpool1d_2_forward(const T* x, T* y, int64_t batch, int64_t time, int64_t channels) {
  const int64_t out_time = time / 2;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < out_time; ++t)
      for (int64_t c = 0; c < channels; ++c) {
        const T* pair = x + (b * time + 2 * t) * channels + c;
        y[(b * out_time + t) * channels + c] = pair[argmax2(pair[0], pair[channels]) * channels];
      }
}

template <typename T>
void maxpool1d_2_backward(const T* x, const T* dy, T* dx, int64_t batch, int64_t time, int64_t channels) {
  const int64_t out_time = time / 2;
  for (int64_t i = 0; i < batch * time * channels; ++i) dx[i] = T(0);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < out_time; ++t)
      for (int64_t c = 0; c < channels; ++c) {
        const int64_t first = (b * time + 2 * t) * channels + c;
        const int which = argmax2(x[first], x[first + channels]);
        dx[first + which * channels] = dy[(b * out_time + t) * channels + c];
      }
}

template void maxpool1d_2_forward<float>(const float*, float*, int64_t, int64_t, int64_t);
template void maxpool1d_2_forward<double>(const double*, double*, int64_t, int64_t, int64_t);
template void maxpool1d_2_backward<float>(const float*, const float*, float*, int64_t, int64_t, int64_t);
template void maxpool1d_2_backward<double>(const double*, const double*, double*, int64_t, int64_t, int64_t);

}  // namespace hl::cpu
