#include "kernels/cpu/separable_conv.h"

#include <algorithm>
#include <limits>
#include <string>

#include "kernels/common/error.h"

namespace hl::cpu {

KerasPad keras_pad(int64_t in, int64_t k, int64_t stride, bool same) {
  KerasPad p;
  if (same) {
    p.out = (in + stride - 1) / stride;
    p.before = std::max<int64_t>((p.out - 1) * stride + k - in, 0) / 2;
  } else {
    p.out = in >= k ? (in - k) / stride + 1 : 0;
  }
  if (p.out < 1)
    throw Error("keras padding: input " + std::to_string(in) + " is smaller than the kernel " + std::to_string(k));
  return p;
}

void conv2d_nhwc(const float* x, int64_t h, int64_t w, int64_t cin, const float* kernel, int64_t kh, int64_t kw,
                 int64_t cout, const float* bias, int64_t sh, int64_t sw, bool same, float* y, int64_t oh, int64_t ow) {
  const int64_t top = keras_pad(h, kh, sh, same).before, left = keras_pad(w, kw, sw, same).before;
  for (int64_t oy = 0; oy < oh; ++oy)
    for (int64_t ox = 0; ox < ow; ++ox) {
      float* out = y + (oy * ow + ox) * cout;
      for (int64_t o = 0; o < cout; ++o) out[o] = bias ? bias[o] : 0.f;
      for (int64_t ky = 0; ky < kh; ++ky) {
        const int64_t iy = oy * sh + ky - top;
        if (iy < 0 || iy >= h) continue;
        for (int64_t kx = 0; kx < kw; ++kx) {
          const int64_t ix = ox * sw + kx - left;
          if (ix < 0 || ix >= w) continue;
          const float* in = x + (iy * w + ix) * cin;
          const float* k = kernel + (ky * kw + kx) * cin * cout;
          // out[o] += sum_i in[i] * k[i, o]: the inner loop runs over contiguous o.
          for (int64_t i = 0; i < cin; ++i) {
            const float v = in[i];
            const float* ki = k + i * cout;
            for (int64_t o = 0; o < cout; ++o) out[o] += v * ki[o];
          }
        }
      }
    }
}

void depthwise_conv2d_nhwc(const float* x, int64_t h, int64_t w, int64_t c, const float* kernel, int64_t kh, int64_t kw,
                           int64_t sh, int64_t sw, bool same, float* y, int64_t oh, int64_t ow) {
  const int64_t top = keras_pad(h, kh, sh, same).before, left = keras_pad(w, kw, sw, same).before;
  for (int64_t oy = 0; oy < oh; ++oy)
    for (int64_t ox = 0; ox < ow; ++ox) {
      float* out = y + (oy * ow + ox) * c;
      std::fill(out, out + c, 0.f);
      for (int64_t ky = 0; ky < kh; ++ky) {
        const int64_t iy = oy * sh + ky - top;
        if (iy < 0 || iy >= h) continue;
        for (int64_t kx = 0; kx < kw; ++kx) {
          const int64_t ix = ox * sw + kx - left;
          if (ix < 0 || ix >= w) continue;
          const float* in = x + (iy * w + ix) * c;
          const float* k = kernel + (ky * kw + kx) * c;
          for (int64_t ch = 0; ch < c; ++ch) out[ch] += in[ch] * k[ch];
        }
      }
    }
}

void max_pool_nhwc(const float* x, int64_t h, int64_t w, int64_t c, int64_t ph, int64_t pw, int64_t sh, int64_t sw,
                   bool same, float* y, int64_t oh, int64_t ow) {
  const int64_t top = keras_pad(h, ph, sh, same).before, left = keras_pad(w, pw, sw, same).before;
  for (int64_t oy = 0; oy < oh; ++oy)
    for (int64_t ox = 0; ox < ow; ++ox) {
      float* out = y + (oy * ow + ox) * c;
      std::fill(out, out + c, -std::numeric_limits<float>::infinity());
      for (int64_t ky = 0; ky < ph; ++ky) {
        const int64_t iy = oy * sh + ky - top;
        if (iy < 0 || iy >= h) continue;
        for (int64_t kx = 0; kx < pw; ++kx) {
          const int64_t ix = ox * sw + kx - left;
          if (ix < 0 || ix >= w) continue;
          const float* in = x + (iy * w + ix) * c;
          for (int64_t ch = 0; ch < c; ++ch) out[ch] = std::max(out[ch], in[ch]);
        }
      }
    }
}

}  // namespace hl::cpu
