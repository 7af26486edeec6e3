#include "kernels/cpu/pool3d.h"

#include <algorithm>
#include <limits>
#include <string>

#include "kernels/common/error.h"
#include "kernels/cpu/parallel.h"

namespace hl::cpu {

namespace {

// y[k] = max(y[k], x[k]) with a NaN of x winning, as a select the compiler vectorizes.
__attribute__((target_clones("avx512f", "default"))) void max_into(float* y, const float* x, int64_t c) {
  for (int64_t k = 0; k < c; ++k) {
    const float a = x[k], b = y[k];
    y[k] = (a > b || a != a) ? a : b;  // NaN wins
  }
}

}  // namespace

void maxpool3d_ndhwc_f32(const Pool3dShape& s, const float* x, float* y) {
  for (int64_t v : {s.batch, s.depth, s.height, s.width, s.channels, s.kd, s.kh, s.kw, s.sd, s.sh, s.sw})
    if (v <= 0) throw Error("maxpool3d: every size, kernel and stride must be positive");
  const TfPadding pd = s.pad_d(), ph = s.pad_h(), pw = s.pad_w();
  const int64_t c = s.channels;
  // Output planes (n, od) spread over the engine's threads; each writes its own plane.
  const int64_t plane = ph.out * pw.out * c;
  parallel_for(s.batch * pd.out, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(plane, 1)),
               [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t n = p / pd.out, od = p % pd.out;
      for (int64_t oh = 0; oh < ph.out; ++oh)
        for (int64_t ow = 0; ow < pw.out; ++ow) {
          float* yp = y + (((n * pd.out + od) * ph.out + oh) * pw.out + ow) * c;
          std::fill_n(yp, c, -std::numeric_limits<float>::infinity());
          for (int64_t td = 0; td < s.kd; ++td) {
            const int64_t id = od * s.sd - pd.pad_before + td;
            if (id < 0 || id >= s.depth) continue;
            for (int64_t th = 0; th < s.kh; ++th) {
              const int64_t ih = oh * s.sh - ph.pad_before + th;
              if (ih < 0 || ih >= s.height) continue;
              for (int64_t tw = 0; tw < s.kw; ++tw) {
                const int64_t iw = ow * s.sw - pw.pad_before + tw;
                if (iw < 0 || iw >= s.width) continue;
                max_into(yp, x + (((n * s.depth + id) * s.height + ih) * s.width + iw) * c, c);
              }
            }
          }
        }
    }
  });
}

}  // namespace hl::cpu
