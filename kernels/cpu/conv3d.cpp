#include "kernels/cpu/conv3d.h"

#include <algorithm>
#include <string>
#include <vector>

#include "kernels/common/error.h"

namespace hl::cpu {

TfPadding tf_padding(int64_t in, int64_t kernel, int64_t stride, bool same) {
  if (in <= 0 || kernel <= 0 || stride <= 0)
    throw Error("tf_padding: sizes must be positive (input " + std::to_string(in) + ", kernel " +
                std::to_string(kernel) + ", stride " + std::to_string(stride) + ")");
  TfPadding p;
  if (same) {
    p.out = (in + stride - 1) / stride;
    const int64_t total = std::max<int64_t>((p.out - 1) * stride + kernel - in, 0);
    p.pad_before = total / 2;
  } else {
    if (in < kernel)
      throw Error("tf_padding: VALID needs the input (" + std::to_string(in) + ") at least as long as the kernel (" +
                  std::to_string(kernel) + ")");
    p.out = (in - kernel) / stride + 1;
  }
  return p;
}

void Conv3dShape::validate(const char* op) const {
  for (int64_t v : {batch, depth, height, width, c_in, c_out, kd, kh, kw, sd, sh, sw})
    if (v <= 0) throw Error(std::string(op) + ": every size, kernel and stride must be positive");
  pad_d();
  pad_h();
  pad_w();
}

void conv3d_ndhwc_f32(const Conv3dShape& s, const float* x, const float* w, const float* bias, float* y) {
  s.validate("conv3d");
  const TfPadding pd = s.pad_d(), ph = s.pad_h(), pw = s.pad_w();
  const int64_t ci = s.c_in, co = s.c_out;
  std::vector<float> acc(static_cast<size_t>(co));
  for (int64_t n = 0; n < s.batch; ++n)
    for (int64_t od = 0; od < pd.out; ++od)
      for (int64_t oh = 0; oh < ph.out; ++oh)
        for (int64_t ow = 0; ow < pw.out; ++ow) {
          for (int64_t c = 0; c < co; ++c) acc[c] = bias ? bias[c] : 0.0f;
          for (int64_t td = 0; td < s.kd; ++td) {
            const int64_t id = od * s.sd - pd.pad_before + td;
            if (id < 0 || id >= s.depth) continue;  // a zero of the padding
            for (int64_t th = 0; th < s.kh; ++th) {
              const int64_t ih = oh * s.sh - ph.pad_before + th;
              if (ih < 0 || ih >= s.height) continue;
              for (int64_t tw = 0; tw < s.kw; ++tw) {
                const int64_t iw = ow * s.sw - pw.pad_before + tw;
                if (iw < 0 || iw >= s.width) continue;
                const float* xp = x + (((n * s.depth + id) * s.height + ih) * s.width + iw) * ci;
                const float* wp = w + ((td * s.kh + th) * s.kw + tw) * ci * co;  // [c_in, c_out] of this tap
                for (int64_t i = 0; i < ci; ++i) {
                  const float xv = xp[i];
                  const float* wr = wp + i * co;
                  for (int64_t c = 0; c < co; ++c) acc[c] += xv * wr[c];
                }
              }
            }
          }
          float* yp = y + (((n * pd.out + od) * ph.out + oh) * pw.out + ow) * co;
          for (int64_t c = 0; c < co; ++c) yp[c] = acc[c];
        }
}

}  // namespace hl::cpu
