#include "kernels/cpu/conv3d_direct.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "kernels/common/error.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/scratch.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HL_DIRECT_X86 1
#else
#define HL_DIRECT_X86 0
#endif

namespace hl::cpu {

namespace {

#if HL_DIRECT_X86
// Output columns per task: a whole 112- or 28-column image row, or 1/92 of the sound's
// 21,897 steps (enough tasks to share out, and a padded input copy of ~8 KiB per row).
constexpr int64_t kColumnsPerTask = 240;

// A [.., N, 1, C] input with a [k, 1] kernel is the same memory as [.., 1, N, C] with a
// [1, k] kernel (and likewise the output): swap height and width so the long axis is the
// one the register tile runs along.
Conv3dShape columns_along_time(Conv3dShape s) {
  if (s.width == 1 && s.kw == 1 && s.height > 1) {
    std::swap(s.height, s.width);
    std::swap(s.kh, s.kw);
    std::swap(s.sh, s.sw);
  }
  return s;
}

// GCC 12's avx512fintrin.h trips its own -Wuninitialized on the intrinsics' internal
// "undefined" operands (GCC bug 105593, fixed in 12.3/13); see gemm_skinny.cpp.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// What one register tile reads: `rows` padded input rows of the task's buffer
// (row_stride floats apart), the kernel's weights for each (w_rows[r]: the packed
// [kw, c_in, w_stride] slab of that row's (td, th) for the task's block of output
// channels), `run` = kw * c_in taps per row, output columns col_step = sw * c_in floats
// apart in the buffer.
struct TileArgs {
  const float* const* w_rows;
  int64_t w_stride, rows, row_stride, run, col_step, c_out;
  const float* bias;  // from the block's first output channel on, or null
};

// y[j, 16 v + l] (j < R output columns c_out apart, v < NV, l < 16) = bias + sum over the
// rows and taps p of xb[r][j col_step + p] * w_rows[r][p w_stride + 16 v + l].
template <int R, int NV>
__attribute__((target("avx512f"))) void tile(const TileArgs& a, const float* xb, float* y) {
  __m512 acc[R][NV];
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) {
    const __m512 b = a.bias ? _mm512_loadu_ps(a.bias + 16 * v) : _mm512_setzero_ps();
#pragma GCC unroll 16
    for (int j = 0; j < R; ++j) acc[j][v] = b;
  }
  for (int64_t r = 0; r < a.rows; ++r) {
    const float* xr = xb + r * a.row_stride;
    const float* wr = a.w_rows[r];
    for (int64_t p = 0; p < a.run; ++p) {
      __m512 wv[NV];
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) wv[v] = _mm512_loadu_ps(wr + p * a.w_stride + 16 * v);
#pragma GCC unroll 16
      for (int j = 0; j < R; ++j) {
        const __m512 xv = _mm512_set1_ps(xr[j * a.col_step + p]);
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) acc[j][v] = _mm512_fmadd_ps(wv[v], xv, acc[j][v]);
      }
    }
  }
#pragma GCC unroll 16
  for (int j = 0; j < R; ++j)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) _mm512_storeu_ps(y + j * a.c_out + 16 * v, acc[j][v]);
}

// Columns per tile for NV vectors of outputs: R * NV accumulators + NV weights + 1
// broadcast fit the 32 zmm registers.
template <int NV>
constexpr int kTileColumns = NV == 4 ? 6 : NV == 3 ? 8 : 12;

// `cols` output columns: tiles of R, the rest with the next smaller R that fits.
template <int NV, int R>
void columns(const TileArgs& a, int64_t cols, const float* xb, float* y) {
  if constexpr (R > 0) {
    for (; cols >= R; cols -= R, xb += R * a.col_step, y += R * a.c_out) tile<R, NV>(a, xb, y);
    if (cols > 0) columns<NV, R - 1>(a, cols, xb, y);
  }
}

#pragma GCC diagnostic pop

void run_direct(const Conv3dShape& s, const float* x, const float* w, const float* bias, float* y) {
  const TfPadding pd = s.pad_d(), ph = s.pad_h(), pw = s.pad_w();
  const int64_t ci = s.c_in, co = s.c_out;
  const int64_t chunks = (pw.out + kColumnsPerTask - 1) / kColumnsPerTask;
  // Output channels in blocks of 64 (the last one 16, 32 or 48), the slowest index of the
  // tasks: consecutive tasks (one thread's range) share a block's weights, kd kh kw c_in
  // x 64 floats (884 KiB for im.conv4_1_1), which then stay in L2 (all 256 channels' do not).
  const int64_t blocks = (co + 63) / 64;
  const int64_t tasks = blocks * s.batch * pd.out * ph.out * chunks;
  // w re-laid per block: [kd kh kw c_in, block width] contiguous, so a tile streams its
  // weights in order (with c_out = 256 the block's rows were 1 KiB apart, a new page every
  // 4 taps: 3.6x slower).
  const int64_t taps = s.kd * s.kh * s.kw * ci;
  Scratch<float> packed(taps * co);
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t width = std::min<int64_t>(64, co - 64 * b);
    float* dst = packed.data() + taps * 64 * b;
    for (int64_t k = 0; k < taps; ++k) std::copy_n(w + k * co + 64 * b, width, dst + k * width);
  }
  // Padded input row of a task: (cols - 1) sw + kw columns of c_in floats, rounded to a
  // cache line so rows do not share one.
  const int64_t span_max = (std::min(kColumnsPerTask, pw.out) - 1) * s.sw + s.kw;
  const int64_t row_stride = (span_max * ci + 15) / 16 * 16;
  const int64_t x_row = s.width * ci;  // floats per input row
  parallel_for(tasks, 1, [&](int64_t t0, int64_t t1) {
    Scratch<float> buf(s.kd * s.kh * row_stride);
    std::vector<const float*> w_rows(static_cast<size_t>(s.kd * s.kh));
    for (int64_t t = t0; t < t1; ++t) {
      int64_t q = t;
      const int64_t chunk = q % chunks;
      q /= chunks;
      const int64_t oh = q % ph.out;
      q /= ph.out;
      const int64_t od = q % pd.out;
      q /= pd.out;
      const int64_t n = q % s.batch;
      const int64_t c0 = q / s.batch * 64;  // the block's first output channel
      const int64_t width = std::min<int64_t>(64, co - c0);
      const int64_t ow0 = chunk * kColumnsPerTask, cols = std::min(kColumnsPerTask, pw.out - ow0);
      const int64_t span = (cols - 1) * s.sw + s.kw;
      const int64_t iw_first = ow0 * s.sw - pw.pad_before;  // input column of the buffer's first
      // Buffer columns [lead, lead + inside) come from the input; the rest are padding zeros.
      const int64_t lead = std::clamp<int64_t>(-iw_first, 0, span);
      const int64_t inside = std::clamp<int64_t>(s.width - std::max<int64_t>(iw_first, 0), 0, span - lead);
      int64_t rows = 0;
      for (int64_t td = 0; td < s.kd; ++td) {
        const int64_t id = od * s.sd - pd.pad_before + td;
        if (id < 0 || id >= s.depth) continue;  // a padding plane: adds nothing
        for (int64_t th = 0; th < s.kh; ++th) {
          const int64_t ih = oh * s.sh - ph.pad_before + th;
          if (ih < 0 || ih >= s.height) continue;
          float* dst = buf.data() + rows * row_stride;
          const float* src = x + ((n * s.depth + id) * s.height + ih) * x_row + std::max<int64_t>(iw_first, 0) * ci;
          std::fill_n(dst, lead * ci, 0.0f);
          std::copy_n(src, inside * ci, dst + lead * ci);
          std::fill_n(dst + (lead + inside) * ci, (span - lead - inside) * ci, 0.0f);
          w_rows[static_cast<size_t>(rows)] = packed.data() + taps * c0 + (td * s.kh + th) * s.kw * ci * width;
          ++rows;
        }
      }
      float* yt = y + (((n * pd.out + od) * ph.out + oh) * pw.out + ow0) * co;
      const TileArgs a{w_rows.data(), width, rows, row_stride, s.kw * ci, s.sw * ci, co, bias ? bias + c0 : nullptr};
      switch (width / 16) {
        case 4: columns<4, kTileColumns<4>>(a, cols, buf.data(), yt + c0); break;
        case 3: columns<3, kTileColumns<3>>(a, cols, buf.data(), yt + c0); break;
        case 2: columns<2, kTileColumns<2>>(a, cols, buf.data(), yt + c0); break;
        default: columns<1, kTileColumns<1>>(a, cols, buf.data(), yt + c0); break;
      }
    }
  });
}
#endif  // HL_DIRECT_X86

}  // namespace

bool conv3d_direct_supported() {
#if HL_DIRECT_X86
  static const bool ok = __builtin_cpu_supports("avx512f");
  return ok;
#else
  return false;
#endif
}

bool conv3d_direct_applies(const Conv3dShape& s) {
  if (!conv3d_direct_supported() || s.c_out % 16 != 0) return false;
  const bool pointwise = s.kd == 1 && s.kh == 1 && s.kw == 1;
  const bool strided = s.sd > 1 || s.sh > 1 || s.sw > 1;
  // A block of 64 output channels' weights must stay in L2 (2 MiB here) beside the tiles'
  // inputs: at 884 KiB (im.conv4_1_1, 128 -> 256) the direct kernel was no faster than
  // im2col + GEMM (0.97-1.08x), at 442 KiB (im.conv2_2_1) 1.5-1.9x faster
  // (bench/bench_conv3d_direct.cpp).
  const int64_t block_bytes = s.kd * s.kh * s.kw * s.c_in * 64 * int64_t(sizeof(float));
  return !pointwise && (s.c_in <= 8 || (strided && block_bytes <= (int64_t(512) << 10)));
}

void conv3d_direct_f32(const Conv3dShape& s, const float* x, const float* w, const float* bias, float* y) {
  s.validate("conv3d_direct");
  if (s.c_out % 16 != 0)
    throw Error("conv3d_direct: c_out (" + std::to_string(s.c_out) + ") must be a multiple of 16");
  if (!conv3d_direct_supported()) throw Error("conv3d_direct: this CPU has no AVX-512F");
#if HL_DIRECT_X86
  run_direct(columns_along_time(s), x, w, bias, y);
#else
  (void)x, (void)w, (void)bias, (void)y;
#endif
}

}  // namespace hl::cpu
