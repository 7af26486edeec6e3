#include "kernels/cpu/conv2d_fused.h"

#include "kernels/cpu/gemm.h"

#include <algorithm>
#include <string>

#include "kernels/common/error.h"

namespace hl::cpu {

namespace {

// Output rows per block. Large enough that OpenBLAS's packing of the weights (k x c_out,
// repeated for every call) stays small next to the product, small enough that the
// im2col block (rows x k floats) and the output block stay near the cache.
int64_t block_rows(const Conv2dShape& s) {
  const int64_t k = s.col_width();
  const int64_t target = std::max<int64_t>(512, (int64_t{1} << 20) / k);
  return std::min(target, s.col_rows());
}

// cols[r - r0, (p, q, c)] for output rows r in [r0, r1): x[n, i*stride_h + p - pad_top,
// j*stride_w + q - pad_left, c], zero outside the input.
void im2col_rows(const Conv2dShape& s, const float* x, int64_t r0, int64_t r1, float* cols) {
  const int64_t oh = s.out_height(), ow = s.out_width(), k = s.col_width();
  const int64_t c_in = s.c_in;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t n = r / (oh * ow), i = (r / ow) % oh, j = r % ow;
    float* row = cols + (r - r0) * k;
    for (int64_t p = 0; p < s.kh; ++p) {
      const int64_t yy = i * s.stride_h + p - s.pad_top;
      float* dst = row + p * s.kw * c_in;
      if (yy < 0 || yy >= s.height) {
        std::fill(dst, dst + s.kw * c_in, 0.0f);
        continue;
      }
      // Columns q whose input pixel is inside: a contiguous run of kw * c_in floats of x
      // when the stride is 1, copied in one go.
      const int64_t x0 = j * s.stride_w - s.pad_left;
      const int64_t q0 = std::clamp<int64_t>(-x0, 0, s.kw), q1 = std::clamp<int64_t>(s.width - x0, 0, s.kw);
      std::fill(dst, dst + q0 * c_in, 0.0f);
      if (q1 > q0) {
        const float* src = x + ((n * s.height + yy) * s.width + x0 + q0) * c_in;
        std::copy(src, src + (q1 - q0) * c_in, dst + q0 * c_in);
      }
      std::fill(dst + std::max(q0, q1) * c_in, dst + s.kw * c_in, 0.0f);
    }
  }
}

void epilogue(const ConvEpilogue& e, float* y, int64_t ldy, int64_t r0, int64_t rows, int64_t c_out) {
  if (!e.scale && !e.shift && !e.residual && !e.relu) return;
  for (int64_t r = 0; r < rows; ++r) {
    float* out = y + r * ldy;
    if (e.scale)
      for (int64_t o = 0; o < c_out; ++o) out[o] *= e.scale[o];
    if (e.shift)
      for (int64_t o = 0; o < c_out; ++o) out[o] += e.shift[o];
    if (e.residual) {
      const float* res = e.residual + (r0 + r) * c_out;
      for (int64_t o = 0; o < c_out; ++o) out[o] += res[o];
    }
    if (e.relu)
      for (int64_t o = 0; o < c_out; ++o) out[o] = std::max(out[o], 0.0f);
  }
}

}  // namespace

size_t conv2d_fused_workspace(const Conv2dShape& s) {
  if (s.im2col_is_identity()) return 0;
  return static_cast<size_t>(block_rows(s) * s.col_width());
}

void conv2d_fused_f32(const Conv2dShape& s, const float* x, const float* w, float* y, int64_t ldy,
                      const ConvEpilogue& e, float* workspace) {
  s.validate("conv2d");
  if (ldy < s.c_out) throw Error("conv2d: the output row stride " + std::to_string(ldy) + " is below c_out " +
                                 std::to_string(s.c_out));
  const int64_t rows = s.col_rows(), k = s.col_width(), n = s.c_out;
  if (rows == 0) return;
  const bool identity = s.im2col_is_identity();
  const int64_t step = block_rows(s);
  for (int64_t r0 = 0; r0 < rows; r0 += step) {
    const int64_t m = std::min(step, rows - r0);
    const float* a = x + r0 * k;
    if (!identity) {
      im2col_rows(s, x, r0, r0 + m, workspace);
      a = workspace;
    }
    sgemm_threaded(false, false, m, n, k, 1.0f, a, k, w, n, 0.0f, y + r0 * ldy, ldy);
    epilogue(e, y + r0 * ldy, ldy, r0, m, n);
  }
}

}  // namespace hl::cpu
