#include "kernels/cpu/pool3d.h"

#include <algorithm>
#include <limits>
#include <string>

#include "kernels/common/error.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/vec_math.h"

namespace hl::cpu {

namespace {

// y[k] = max(y[k], x[k]) with a NaN of x winning, as a select the compiler vectorizes.
inline void max_into(float* y, const float* x, int64_t c) {
  for (int64_t k = 0; k < c; ++k) {
    const float a = x[k], b = y[k];
    y[k] = (a > b || a != a) ? a : b;  // NaN wins
  }
}

// Output plane p = (n, od): one call per plane, so that the windows' loops are built for
// AVX-512 / AVX2 inside (a call per window element through the clones' dispatch cost as
// much as the maxima at 64 channels).
HL_SIMD_CLONES void pool_plane(const Pool3dShape& s, const TfPadding& pd, const TfPadding& ph, const TfPadding& pw,
                               const float* x, float* y, int64_t p) {
  const int64_t c = s.channels;
  const int64_t n = p / pd.out, od = p % pd.out;
  for (int64_t oh = 0; oh < ph.out; ++oh)
    for (int64_t ow = 0; ow < pw.out; ++ow) {
      float* yp = y + (((n * pd.out + od) * ph.out + oh) * pw.out + ow) * c;
      // max(-inf, a) is a for every a (NaN and -inf too): start from the first element.
      bool first = true;
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
            if (first) {
              std::copy_n(xp, c, yp);
              first = false;
            } else {
              max_into(yp, xp, c);
            }
          }
        }
      }
      if (first) std::fill_n(yp, c, -std::numeric_limits<float>::infinity());  // no element (not in TF's sizes)
    }
}

}  // namespace

void maxpool3d_ndhwc_f32(const Pool3dShape& s, const float* x, float* y) {
  for (int64_t v : {s.batch, s.depth, s.height, s.width, s.channels, s.kd, s.kh, s.kw, s.sd, s.sh, s.sw})
    if (v <= 0) throw Error("maxpool3d: every size, kernel and stride must be positive");
  const TfPadding pd = s.pad_d(), ph = s.pad_h(), pw = s.pad_w();
  // Output planes (n, od) spread over the engine's threads; each writes its own plane.
  const int64_t plane = ph.out * pw.out * s.channels;
  parallel_for(s.batch * pd.out, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(plane, 1)),
               [&](int64_t p0, int64_t p1) {
                 for (int64_t p = p0; p < p1; ++p) pool_plane(s, pd, ph, pw, x, y, p);
               });
}

}  // namespace hl::cpu
