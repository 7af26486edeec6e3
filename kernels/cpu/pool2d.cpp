#include "kernels/cpu/pool2d.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "kernels/common/error.h"

namespace hl::cpu {

namespace {

// PyTorch's pooling_output_shape (dilation 1). The numerator can be negative for an
// input smaller than the kernel; it rounds towards minus infinity like PyTorch's div_rtn.
int64_t pooled_size(int64_t in, int64_t k, int64_t stride, int64_t pad, bool ceil_mode) {
  const int64_t num = in + 2 * pad - k + (ceil_mode ? stride - 1 : 0);
  const int64_t q = num / stride - ((num % stride != 0 && num < 0) ? 1 : 0);
  int64_t out = q + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

}  // namespace

int64_t Pool2dShape::out_height() const { return pooled_size(height, kh, stride_h, pad_h, ceil_mode); }
int64_t Pool2dShape::out_width() const { return pooled_size(width, kw, stride_w, pad_w, ceil_mode); }

void Pool2dShape::validate(const char* op) const {
  const auto fail = [&](const std::string& what) { throw Error(std::string(op) + ": " + what); };
  if (batch < 0 || height < 1 || width < 1 || channels < 1)
    fail("sizes must be positive (height " + std::to_string(height) + ", width " + std::to_string(width) +
         ", channels " + std::to_string(channels) + ")");
  if (kh < 1 || kw < 1) fail("the kernel must be at least 1x1");
  if (stride_h < 1 || stride_w < 1) fail("strides must be at least 1");
  if (pad_h < 0 || pad_w < 0 || 2 * pad_h > kh || 2 * pad_w > kw)
    fail("padding must be between 0 and half the kernel (kernel " + std::to_string(kh) + "x" + std::to_string(kw) +
         ", padding " + std::to_string(pad_h) + "x" + std::to_string(pad_w) + ")");
  if (out_height() < 1 || out_width() < 1)
    fail("the " + std::to_string(height) + "x" + std::to_string(width) + " input is too small for a " +
         std::to_string(kh) + "x" + std::to_string(kw) + " window with stride " + std::to_string(stride_h) + "x" +
         std::to_string(stride_w));
}

void maxpool2d_f32(const Pool2dShape& s, const float* x, float* y) {
  s.validate("maxpool2d");
  const int64_t oh = s.out_height(), ow = s.out_width(), C = s.channels;
  for (int64_t n = 0; n < s.batch; ++n)
    for (int64_t i = 0; i < oh; ++i) {
      const int64_t y0 = std::max<int64_t>(i * s.stride_h - s.pad_h, 0);
      const int64_t y1 = std::min(i * s.stride_h - s.pad_h + s.kh, s.height);
      for (int64_t j = 0; j < ow; ++j) {
        const int64_t x0 = std::max<int64_t>(j * s.stride_w - s.pad_w, 0);
        const int64_t x1 = std::min(j * s.stride_w - s.pad_w + s.kw, s.width);
        float* out = y + ((n * oh + i) * ow + j) * C;
        std::fill(out, out + C, -std::numeric_limits<float>::infinity());
        for (int64_t yy = y0; yy < y1; ++yy)
          for (int64_t xx = x0; xx < x1; ++xx) {
            const float* in = x + ((n * s.height + yy) * s.width + xx) * C;
            for (int64_t c = 0; c < C; ++c) out[c] = (in[c] > out[c] || std::isnan(in[c])) ? in[c] : out[c];
          }
      }
    }
}

void global_avgpool_f32(const float* x, float* y, int64_t batch, int64_t pixels, int64_t channels) {
  if (batch < 0 || pixels < 1 || channels < 1) throw Error("global_avgpool: sizes must be positive");
  const float inv = 1.0f / static_cast<float>(pixels);
  for (int64_t n = 0; n < batch; ++n) {
    float* out = y + n * channels;
    std::fill(out, out + channels, 0.0f);
    for (int64_t p = 0; p < pixels; ++p) {
      const float* in = x + (n * pixels + p) * channels;
      for (int64_t c = 0; c < channels; ++c) out[c] += in[c];
    }
    for (int64_t c = 0; c < channels; ++c) out[c] *= inv;
  }
}

}  // namespace hl::cpu
