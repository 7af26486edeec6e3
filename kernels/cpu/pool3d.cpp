#include "kernels/cpu/pool3d.h"

#include <limits>
#include <string>

#include "kernels/common/error.h"

namespace hl::cpu {

void maxpool3d_ndhwc_f32(const Pool3dShape& s, const float* x, float* y) {
  for (int64_t v : {s.batch, s.depth, s.height, s.width, s.channels, s.kd, s.kh, s.kw, s.sd, s.sh, s.sw})
    if (v <= 0) throw Error("maxpool3d: every size, kernel and stride must be positive");
  const TfPadding pd = s.pad_d(), ph = s.pad_h(), pw = s.pad_w();
  const int64_t c = s.channels;
  for (int64_t n = 0; n < s.batch; ++n)
    for (int64_t od = 0; od < pd.out; ++od)
      for (int64_t oh = 0; oh < ph.out; ++oh)
        for (int64_t ow = 0; ow < pw.out; ++ow) {
          float* yp = y + (((n * pd.out + od) * ph.out + oh) * pw.out + ow) * c;
          for (int64_t k = 0; k < c; ++k) yp[k] = -std::numeric_limits<float>::infinity();
          for (int64_t td = 0; td < s.kd; ++td) {
            const int64_t id = od * s.sd - pd.pad_before + td;
            if (id < 0 || id >= s.depth) continue;
            for (int64_t th = 0; th < s.kh; ++th) {
              const int64_t ih = oh * s.sh - ph.pad_before + th;
              if (ih < 0 || ih >= s.height) continue;
              for (int64_t tw = 0; tw < s.kw; ++tw) {
                const int64_t iw = ow * s.sw - pw.pad_before + tw;
                if (iw < 0 || iw >= s.width) continue;
                const float* xp = x + (((n * s.depth + id) * s.height + ih) * s.width + iw) * c;
                for (int64_t k = 0; k < c; ++k)
                  if (xp[k] > yp[k] || xp[k] != xp[k]) yp[k] = xp[k];  // NaN wins
              }
            }
          }
        }
}

}  // namespace hl::cpu
