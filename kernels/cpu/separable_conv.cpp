#include "kernels/cpu/separable_conv.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

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

namespace {

// c [m, n] += a [m, k] . b [k, n], all row-major and dense. Each c element adds its k
// products one by one in k order onto its start value, whatever the blocking or vector
// width, so the result is the same bits on every CPU and thread count, and the same as the
// direct per-pixel loop this replaces (padding taps add 0). Not OpenBLAS: its kernels
// differ by CPU (OPENBLAS_CORETYPE) in the last bits, and the affect path promises the
// same bits in hl-extract (which sets the core type) and in a plain MiniXception::run.
// Blocks of 6 rows x 8 columns keep their 48 sums in registers across the k loop (6 AVX
// or 12 SSE ones); an AVX2 clone is picked at load time where the CPU has it (the same
// products and sums lane by lane, so the same bits; no FMA, which would round once less).
// Eight floats (GCC/Clang vector extension): one AVX register, or two SSE ones.
typedef float V8 __attribute__((vector_size(32)));
// (Loads and stores by memcpy in place: a function taking or returning V8 would change
// the ABI between the AVX2 and default clones.)

__attribute__((target_clones("avx2", "default"))) void gemm_accumulate(const float* a, int64_t m, int64_t k,
                                                                       const float* b, int64_t n, float* c) {
  constexpr int64_t R = 6, C = 8;
  int64_t i = 0;
  for (; i + R <= m; i += R) {
    int64_t j = 0;
    for (; j + C <= n; j += C) {
      V8 acc[R];
      for (int64_t r = 0; r < R; ++r) std::memcpy(&acc[r], c + (i + r) * n + j, sizeof(V8));
      for (int64_t kk = 0; kk < k; ++kk) {
        V8 bv;
        std::memcpy(&bv, b + kk * n + j, sizeof bv);
        for (int64_t r = 0; r < R; ++r) {
          const float av = a[(i + r) * k + kk];
          acc[r] += V8{av, av, av, av, av, av, av, av} * bv;
        }
      }
      for (int64_t r = 0; r < R; ++r) std::memcpy(c + (i + r) * n + j, &acc[r], sizeof(V8));
    }
    for (int64_t r = i; r < i + R; ++r)  // the last n % C columns
      for (int64_t q = j; q < n; ++q) {
        float sum = c[r * n + q];
        for (int64_t kk = 0; kk < k; ++kk) sum += a[r * k + kk] * b[kk * n + q];
        c[r * n + q] = sum;
      }
  }
  for (; i < m; ++i) {  // the last m % R rows: a row of c at a time, over contiguous columns
    float* cr = c + i * n;
    for (int64_t kk = 0; kk < k; ++kk) {
      const float av = a[i * k + kk];
      const float* br = b + kk * n;
      for (int64_t q = 0; q < n; ++q) cr[q] += av * br[q];
    }
  }
}

}  // namespace

void conv2d_nhwc(const float* x, int64_t h, int64_t w, int64_t cin, const float* kernel, int64_t kh, int64_t kw,
                 int64_t cout, const float* bias, int64_t sh, int64_t sw, bool same, float* y, int64_t oh, int64_t ow) {
  const int64_t top = keras_pad(h, kh, sh, same).before, left = keras_pad(w, kw, sw, same).before;
  // y starts as the bias; every product below adds into it.
  for (int64_t r = 0; r < oh * ow; ++r) {
    if (bias) {
      std::copy_n(bias, cout, y + r * cout);
    } else {
      std::fill_n(y + r * cout, cout, 0.0f);
    }
  }
  // HWIO kernel = row-major [kh * kw * cin, cout]: a patch row in (ky, kx, i) order times it.
  const int64_t k = kh * kw * cin;
  if (kh == 1 && kw == 1 && sh == 1 && sw == 1 && oh == h && ow == w) {
    // 1x1, stride 1 (no padding either way): x itself is the patch matrix [h * w, cin].
    gemm_accumulate(x, oh * ow, cin, kernel, cout, y);
    return;
  }
  // im2col by chunks of whole output rows, ~64K floats (256 KiB) of patches per chunk, in a
  // buffer kept per thread and only ever grown, so steady-state calls allocate nothing.
  const int64_t rows_per_chunk = std::clamp<int64_t>((int64_t(1) << 16) / std::max<int64_t>(1, ow * k), 1, oh);
  thread_local std::vector<float> patches;
  const size_t need = static_cast<size_t>(rows_per_chunk * ow * k);
  if (patches.size() < need) patches.resize(need);
  for (int64_t oy0 = 0; oy0 < oh; oy0 += rows_per_chunk) {
    const int64_t oy1 = std::min(oh, oy0 + rows_per_chunk);
    float* dst = patches.data();
    for (int64_t oy = oy0; oy < oy1; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox)
        for (int64_t ky = 0; ky < kh; ++ky) {
          const int64_t iy = oy * sh + ky - top;
          const int64_t ix0 = ox * sw - left;
          if (iy >= 0 && iy < h && ix0 >= 0 && ix0 + kw <= w) {
            // The kernel's whole row lies inside the input: kw * cin contiguous floats.
            dst = std::copy_n(x + (iy * w + ix0) * cin, kw * cin, dst);
            continue;
          }
          for (int64_t kx = 0; kx < kw; ++kx, dst += cin) {
            const int64_t ix = ix0 + kx;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) {
              std::fill_n(dst, cin, 0.0f);  // a zero of the padding
            } else {
              std::copy_n(x + (iy * w + ix) * cin, cin, dst);
            }
          }
        }
    // y[rows oy0..oy1) += patches [m, k] . kernel [k, cout]
    const int64_t m = (oy1 - oy0) * ow;
    gemm_accumulate(patches.data(), m, k, kernel, cout, y + oy0 * ow * cout);
  }
}

// Vectorised over channels; an AVX2 clone where the CPU has it (same bits, as above).
__attribute__((target_clones("avx2", "default"))) void depthwise_conv2d_nhwc(const float* x, int64_t h, int64_t w,
                                                                             int64_t c, const float* kernel, int64_t kh,
                                                                             int64_t kw, int64_t sh, int64_t sw,
                                                                             bool same, float* y, int64_t oh,
                                                                             int64_t ow) {
  const int64_t top = keras_pad(h, kh, sh, same).before, left = keras_pad(w, kw, sw, same).before;
  // One output row at a time, tap by tap over the span of ox whose input column exists, so
  // the inner loops carry no bounds tests. Each output still sums its taps from 0 in
  // (ky, kx) order: the same float results as a per-pixel loop.
  for (int64_t oy = 0; oy < oh; ++oy) {
    float* out_row = y + oy * ow * c;
    std::fill_n(out_row, ow * c, 0.0f);
    for (int64_t ky = 0; ky < kh; ++ky) {
      const int64_t iy = oy * sh + ky - top;
      if (iy < 0 || iy >= h) continue;
      const float* in_row = x + iy * w * c;
      for (int64_t kx = 0; kx < kw; ++kx) {
        // ix = ox * sw + kx - left must lie in [0, w): ox in [lo, hi).
        const int64_t first = left - kx, last = w - 1 + left - kx;
        const int64_t lo = first > 0 ? (first + sw - 1) / sw : 0;
        const int64_t hi = last < 0 ? 0 : std::min(ow, last / sw + 1);
        const float* k = kernel + (ky * kw + kx) * c;
        for (int64_t ox = lo; ox < hi; ++ox) {
          const float* in = in_row + (ox * sw + kx - left) * c;
          float* out = out_row + ox * c;
          for (int64_t ch = 0; ch < c; ++ch) out[ch] += in[ch] * k[ch];
        }
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
