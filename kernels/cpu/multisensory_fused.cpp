#include "kernels/cpu/multisensory_fused.h"

#include <algorithm>
#include <cstring>

#include "kernels/cpu/parallel.h"
#include "kernels/cpu/vec_math.h"

namespace hl::cpu {

namespace {

// std::max(v, 0.0f): (v < 0) ? 0 : v, so -0 and NaN pass unchanged (relu_f32 maps -0 to +0).
inline float relu_max(float v) { return v < 0.0f ? 0.0f : v; }

HL_SIMD_CLONES void relu_max_range(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = relu_max(x[i]);
}

// One output row of n positions [n, c]; the shortcut's positions are `step` floats apart.
HL_SIMD_CLONES void add_bn_relu_row(float* y, const float* s, int64_t step, int64_t n, int64_t c, const float* scale,
                                    const float* shift) {
  for (int64_t p = 0; p < n; ++p, y += c, s += step)
    for (int64_t k = 0; k < c; ++k) {
      const float sum = y[k] + s[k];  // the add, rounded, then the BatchNorm: as two passes did
      y[k] = relu_max(sum * scale[k] + shift[k]);
    }
}

HL_SIMD_CLONES void bn_relu_row(float* y, int64_t n, int64_t c, const float* scale, const float* shift) {
  for (int64_t p = 0; p < n; ++p, y += c)
    for (int64_t k = 0; k < c; ++k) y[k] = relu_max(y[k] * scale[k] + shift[k]);
}

HL_SIMD_CLONES void merge_range(float* y, int64_t p0, int64_t p1, int64_t half, const float* video, int64_t cv,
                                const float* sound, int64_t cs, int64_t per_step, const float* scale,
                                const float* shift) {
  for (int64_t p = p0; p < p1; ++p) {
    float* yp = y + p * 2 * half;
    const float* v = video + p * cv;                          // its first half channels
    const float* s = sound + (p / per_step) * cs + cs - half;  // its last half channels
    for (int64_t k = 0; k < half; ++k) yp[k] = relu_max((yp[k] + v[k]) * scale[k] + shift[k]);
    float* yq = yp + half;
    const float* sc = scale + half;
    const float* sh = shift + half;
    for (int64_t k = 0; k < half; ++k) yq[k] = relu_max((yq[k] + s[k]) * sc[k] + sh[k]);
  }
}

// Sums of x [positions, c] over positions for the channels [k0, k0 + n), n <= kMeanBlock.
constexpr int64_t kMeanBlock = 64;
HL_SIMD_CLONES void channel_sums(const float* x, int64_t positions, int64_t c, int64_t k0, int64_t n, double* sum) {
  double acc[kMeanBlock] = {};
  for (int64_t p = 0; p < positions; ++p) {
    const float* xp = x + p * c + k0;
    for (int64_t k = 0; k < n; ++k) acc[k] += xp[k];
  }
  std::copy_n(acc, n, sum);
}

}  // namespace

void relu_max_f32(float* x, int64_t n) {
  parallel_for(n, kElementwiseGrain, [&](int64_t i, int64_t e) { relu_max_range(x + i, e - i); });
}

void add_bn_relu_f32(float* y, int64_t d, int64_t h, int64_t w, int64_t c, const StridedShortcut& s,
                     const float* scale, const float* shift) {
  const int64_t row = w * c;
  // Rows (od, oh) over the threads: each writes its own row.
  parallel_for(d * h, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(row, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      float* yr = y + r * row;
      if (!s.x) {
        bn_relu_row(yr, w, c, scale, shift);
        continue;
      }
      const int64_t od = r / h, oh = r % h;
      const float* sr = s.x + ((od * s.sd * s.h + oh * s.sh) * s.w) * s.c;
      add_bn_relu_row(yr, sr, s.sw * s.c, w, c, scale, shift);
    }
  });
}

void merge_add_bn_relu_f32(float* y, int64_t positions, int64_t half, const float* video, int64_t c_video,
                           const float* sound, int64_t c_sound, int64_t per_step, const float* scale,
                           const float* shift) {
  parallel_for(positions, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(2 * half, 1)),
               [&](int64_t p0, int64_t p1) {
                 merge_range(y, p0, p1, half, video, c_video, sound, c_sound, per_step, scale, shift);
               });
}

void concat_tiled_f32(const float* video, int64_t positions, int64_t c_video, const float* sound, int64_t c_sound,
                      int64_t per_step, float* y) {
  const int64_t c = c_video + c_sound;
  parallel_for(positions, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(c, 1)),
               [&](int64_t p0, int64_t p1) {
                 for (int64_t p = p0; p < p1; ++p) {
                   float* dst = y + p * c;  // [video channels, sound channels]
                   std::memcpy(dst, video + p * c_video, static_cast<size_t>(c_video) * sizeof(float));
                   std::memcpy(dst + c_video, sound + (p / per_step) * c_sound,
                               static_cast<size_t>(c_sound) * sizeof(float));
                 }
               });
}

void channel_mean_f32(const float* x, int64_t positions, int64_t c, float* mean) {
  const int64_t blocks = (c + kMeanBlock - 1) / kMeanBlock;
  // Blocks of channels over the threads; each channel is summed in position order.
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(positions * kMeanBlock, 1));
  parallel_for(blocks, grain, [&](int64_t b0, int64_t b1) {
    double sum[kMeanBlock];
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t k0 = b * kMeanBlock, n = std::min(kMeanBlock, c - k0);
      channel_sums(x, positions, c, k0, n, sum);
      for (int64_t k = 0; k < n; ++k)
        mean[k0 + k] = static_cast<float>(sum[k] / static_cast<double>(positions));
    }
  });
}

}  // namespace hl::cpu
