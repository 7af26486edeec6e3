#include "kernels/cpu/conv3d.h"

#include <algorithm>
#include <string>
#include <vector>

#include "kernels/common/error.h"
#include "kernels/cpu/conv3d_direct.h"
#include "kernels/cpu/conv3d_winograd.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/parallel.h"

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
  if (conv3d_winograd_applies(s)) {  // 3x3x3, stride 1, SAME: 2.25x fewer multiply-adds
    conv3d_winograd_f32(s, x, w, bias, y);
    return;
  }
  if (conv3d_direct_applies(s)) {  // few input channels or strided: no im2col copy (AVX-512)
    conv3d_direct_f32(s, x, w, bias, y);
    return;
  }
  conv3d_im2col_f32(s, x, w, bias, y);
}

void conv3d_im2col_f32(const Conv3dShape& s, const float* x, const float* w, const float* bias, float* y) {
  s.validate("conv3d");
  const TfPadding pd = s.pad_d(), ph = s.pad_h(), pw = s.pad_w();
  const int64_t ci = s.c_in, co = s.c_out;
  const int64_t rows_per_item = pd.out * ph.out * pw.out;  // output positions of one batch entry
  const int64_t rows = s.batch * rows_per_item;
  const int64_t k = s.kd * s.kh * s.kw * ci;  // one row of the patch matrix: [kd, kh, kw, c_in], w's row order
  // A 1x1x1 kernel with stride 1 reads x itself as the patch matrix [rows, c_in].
  const bool pointwise = s.kd == 1 && s.kh == 1 && s.kw == 1 && s.sd == 1 && s.sh == 1 && s.sw == 1;
  // Rows per chunk: a patch buffer of ~4M floats (16 MiB) per thread, at least 32 rows.
  const int64_t chunk = std::max<int64_t>(32, (int64_t(1) << 22) / k);
  const int64_t chunks = (rows + chunk - 1) / chunk;
  parallel_for(chunks, 1, [&](int64_t c0, int64_t c1) {
    std::vector<float> patches(pointwise ? 0 : static_cast<size_t>(std::min(chunk, rows) * k));
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t r0 = c * chunk, r1 = std::min(rows, r0 + chunk), m = r1 - r0;
      float* yc = y + r0 * co;
      const float* a = x + r0 * ci;
      if (!pointwise) {
        // im2col: row r = one output position, its taps in w's order; padding taps are 0.
        for (int64_t r = r0; r < r1; ++r) {
          int64_t q = r;
          const int64_t ow = q % pw.out;
          q /= pw.out;
          const int64_t oh = q % ph.out;
          q /= ph.out;
          const int64_t od = q % pd.out;
          const int64_t n = q / pd.out;
          float* dst = patches.data() + (r - r0) * k;
          for (int64_t td = 0; td < s.kd; ++td) {
            const int64_t id = od * s.sd - pd.pad_before + td;
            for (int64_t th = 0; th < s.kh; ++th) {
              const int64_t ih = oh * s.sh - ph.pad_before + th;
              const int64_t iw0 = ow * s.sw - pw.pad_before;
              if (id >= 0 && id < s.depth && ih >= 0 && ih < s.height && iw0 >= 0 && iw0 + s.kw <= s.width) {
                // The kernel's whole row lies inside the input: kw * c_in contiguous floats.
                std::copy_n(x + (((n * s.depth + id) * s.height + ih) * s.width + iw0) * ci, s.kw * ci, dst);
                dst += s.kw * ci;
                continue;
              }
              for (int64_t tw = 0; tw < s.kw; ++tw, dst += ci) {
                const int64_t iw = ow * s.sw - pw.pad_before + tw;
                if (id < 0 || id >= s.depth || ih < 0 || ih >= s.height || iw < 0 || iw >= s.width) {
                  std::fill_n(dst, ci, 0.0f);  // a zero of the padding
                  continue;
                }
                std::copy_n(x + (((n * s.depth + id) * s.height + ih) * s.width + iw) * ci, ci, dst);
              }
            }
          }
        }
        a = patches.data();
      }
      // y[chunk] = bias + patches [m, k] . w [k, c_out] (one single-threaded sgemm: this
      // loop is already spread over the pool, so sgemm_threaded runs on its caller).
      for (int64_t r = 0; r < m; ++r) {
        float* yr = yc + r * co;
        if (bias) {
          std::copy_n(bias, co, yr);
        } else {
          std::fill_n(yr, co, 0.0f);
        }
      }
      sgemm_threaded(false, false, m, co, k, 1.0f, a, k, w, co, 1.0f, yc, co);
    }
  });
}

}  // namespace hl::cpu
