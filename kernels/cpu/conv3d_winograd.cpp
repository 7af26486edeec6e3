#include "kernels/cpu/conv3d_winograd.h"

#include <algorithm>
#include <array>
#include <vector>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/parallel.h"

namespace hl::cpu {

bool conv3d_winograd_applies(const Conv3dShape& s) {
  return s.same && s.kd == 3 && s.kh == 3 && s.kw == 3 && s.sd == 1 && s.sh == 1 && s.sw == 1;
}

namespace {

constexpr int64_t kPositions = 16;  // the 4x4 Winograd domain of one tile
// Channels are handled kLanes at a time through local arrays, so that the compiler
// vectorizes the transforms (AVX-512 clone where the CPU has it) without aliasing doubts.
constexpr int64_t kLanes = 16;

// U [16][3][c_in][c_out]: U[xi][kt] = (G g G^T)[xi] with g = w[kt, :, :, ci, co] and
// G = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]]. p0..p1: (ci, co) pairs.
__attribute__((target_clones("avx512f", "default"))) void transform_filter_range(const float* w, int64_t cc,
                                                                                 int64_t kt, int64_t p0, int64_t p1,
                                                                                 float* u) {
  for (int64_t p = p0; p < p1; p += kLanes) {
    const int64_t n = std::min(kLanes, p1 - p);
    float g[3][3][kLanes] = {}, t[4][3][kLanes], v[4][4][kLanes];
    for (int kh = 0; kh < 3; ++kh)
      for (int kw = 0; kw < 3; ++kw)
        for (int64_t l = 0; l < n; ++l) g[kh][kw][l] = w[((kt * 3 + kh) * 3 + kw) * cc + p + l];
    for (int j = 0; j < 3; ++j)  // G g
      for (int64_t l = 0; l < kLanes; ++l) {
        t[0][j][l] = g[0][j][l];
        t[1][j][l] = 0.5f * (g[0][j][l] + g[1][j][l] + g[2][j][l]);
        t[2][j][l] = 0.5f * (g[0][j][l] - g[1][j][l] + g[2][j][l]);
        t[3][j][l] = g[2][j][l];
      }
    for (int i = 0; i < 4; ++i)  // (G g) G^T
      for (int64_t l = 0; l < kLanes; ++l) {
        v[i][0][l] = t[i][0][l];
        v[i][1][l] = 0.5f * (t[i][0][l] + t[i][1][l] + t[i][2][l]);
        v[i][2][l] = 0.5f * (t[i][0][l] - t[i][1][l] + t[i][2][l]);
        v[i][3][l] = t[i][2][l];
      }
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j)
        for (int64_t l = 0; l < n; ++l) u[((i * 4 + j) * 3 + kt) * cc + p + l] = v[i][j][l];
  }
}

std::vector<float> transform_filter(const float* w, int64_t ci, int64_t co) {
  const int64_t cc = ci * co;
  std::vector<float> u(static_cast<size_t>(kPositions * 3 * cc));
  for (int64_t kt = 0; kt < 3; ++kt)
    parallel_for(cc, int64_t(1) << 14,
                 [&](int64_t p0, int64_t p1) { transform_filter_range(w, cc, kt, p0, p1, u.data()); });
  return u;
}

// V[xi] for one input slice [h, w, c] (null: a zero slice of the depth padding) into
// v + xi * xi_stride + tile * c: B^T patch B with B^T = [[1, 0, -1, 0], [0, 1, 1, 0],
// [0, -1, 1, 0], [0, 1, 0, -1]], the 4x4 patch at rows 2i-1.., columns 2j-1.. (zeros outside).
__attribute__((target_clones("avx512f", "default"))) void transform_slice(const float* x, int64_t h, int64_t w,
                                                                          int64_t c, float* v, int64_t xi_stride) {
  const int64_t th = (h + 1) / 2, tw = (w + 1) / 2;
  for (int64_t i = 0; i < th; ++i)
    for (int64_t j = 0; j < tw; ++j) {
      std::array<const float*, kPositions> p;  // null: a zero of the padding
      for (int64_t r = 0; r < 4; ++r)
        for (int64_t q = 0; q < 4; ++q) {
          const int64_t ih = 2 * i - 1 + r, iw = 2 * j - 1 + q;
          p[r * 4 + q] = x && ih >= 0 && ih < h && iw >= 0 && iw < w ? x + (ih * w + iw) * c : nullptr;
        }
      float* out = v + (i * tw + j) * c;
      for (int64_t k = 0; k < c; k += kLanes) {
        const int64_t n = std::min(kLanes, c - k);
        float d[16][kLanes] = {}, t[4][4][kLanes], o[16][kLanes];
        for (int q = 0; q < 16; ++q)
          if (p[q])
            for (int64_t l = 0; l < n; ++l) d[q][l] = p[q][k + l];
        for (int q = 0; q < 4; ++q)  // B^T d, per column
          for (int64_t l = 0; l < kLanes; ++l) {
            t[0][q][l] = d[q][l] - d[8 + q][l];
            t[1][q][l] = d[4 + q][l] + d[8 + q][l];
            t[2][q][l] = d[8 + q][l] - d[4 + q][l];
            t[3][q][l] = d[4 + q][l] - d[12 + q][l];
          }
        for (int r = 0; r < 4; ++r)  // (B^T d) B, per row
          for (int64_t l = 0; l < kLanes; ++l) {
            o[r * 4 + 0][l] = t[r][0][l] - t[r][2][l];
            o[r * 4 + 1][l] = t[r][1][l] + t[r][2][l];
            o[r * 4 + 2][l] = t[r][2][l] - t[r][1][l];
            o[r * 4 + 3][l] = t[r][1][l] - t[r][3][l];
          }
        for (int q = 0; q < 16; ++q)
          for (int64_t l = 0; l < n; ++l) out[q * xi_stride + k + l] = o[q][l];
      }
    }
}

// y = A^T M A + bias for the tiles of one output slice, A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]:
// m + xi * xi_stride + tile * co holds M[xi] of a tile; y is the slice [h, w, co]. A
// tile's second row / column is dropped past an odd height / width.
__attribute__((target_clones("avx512f", "default"))) void untransform_slice(const float* m, int64_t xi_stride,
                                                                            const float* bias, int64_t h, int64_t w,
                                                                            int64_t co, float* y) {
  const int64_t th = (h + 1) / 2, tw = (w + 1) / 2;
  for (int64_t i = 0; i < th; ++i)
    for (int64_t j = 0; j < tw; ++j) {
      const float* mp = m + (i * tw + j) * co;
      float* y00 = y + ((2 * i) * w + 2 * j) * co;
      const bool second_row = 2 * i + 1 < h, second_col = 2 * j + 1 < w;
      for (int64_t k = 0; k < co; k += kLanes) {
        const int64_t n = std::min(kLanes, co - k);
        float mm[16][kLanes] = {}, t[2][4][kLanes], o[4][kLanes], b[kLanes] = {};
        for (int q = 0; q < 16; ++q)
          for (int64_t l = 0; l < n; ++l) mm[q][l] = mp[q * xi_stride + k + l];
        if (bias)
          for (int64_t l = 0; l < n; ++l) b[l] = bias[k + l];
        for (int q = 0; q < 4; ++q)
          for (int64_t l = 0; l < kLanes; ++l) {
            t[0][q][l] = mm[q][l] + mm[4 + q][l] + mm[8 + q][l];
            t[1][q][l] = mm[4 + q][l] - mm[8 + q][l] - mm[12 + q][l];
          }
        for (int a = 0; a < 2; ++a)
          for (int64_t l = 0; l < kLanes; ++l) {
            o[2 * a][l] = b[l] + t[a][0][l] + t[a][1][l] + t[a][2][l];
            o[2 * a + 1][l] = b[l] + t[a][1][l] - t[a][2][l] - t[a][3][l];
          }
        for (int64_t l = 0; l < n; ++l) y00[k + l] = o[0][l];
        if (second_col)
          for (int64_t l = 0; l < n; ++l) y00[co + k + l] = o[1][l];
        if (second_row) {
          for (int64_t l = 0; l < n; ++l) y00[w * co + k + l] = o[2][l];
          if (second_col)
            for (int64_t l = 0; l < n; ++l) y00[(w + 1) * co + k + l] = o[3][l];
        }
      }
    }
}

}  // namespace

void conv3d_winograd_f32(const Conv3dShape& s, const float* x, const float* w, const float* bias, float* y) {
  s.validate("conv3d");
  const int64_t ci = s.c_in, co = s.c_out, d = s.depth, h = s.height, wd = s.width;
  const int64_t th = (h + 1) / 2, tw = (wd + 1) / 2, tiles = th * tw;
  const std::vector<float> u = transform_filter(w, ci, co);
  // Output depths per chunk: the chunk's V [16][nd + 2][tiles][ci] and M [16][nd][tiles][co]
  // within ~8M floats, and at least as many chunks as threads. (Copying V three times
  // into [rows, 3 ci] rows for one GEMM of depth 3 ci per xi was slower: more memory.)
  const int64_t per_slice = kPositions * tiles * (ci + co);
  int64_t nd = std::clamp<int64_t>((int64_t(1) << 23) / per_slice, 1, d);
  nd = std::min<int64_t>(nd, (d * s.batch + num_threads() - 1) / num_threads());
  nd = std::max<int64_t>(nd, 1);
  const int64_t chunks_per_item = (d + nd - 1) / nd;
  nd = (d + chunks_per_item - 1) / chunks_per_item;  // balanced chunks
  parallel_for(s.batch * chunks_per_item, 1, [&](int64_t c0, int64_t c1) {
    std::vector<float> v(static_cast<size_t>(kPositions * (nd + 2) * tiles * ci));
    std::vector<float> m(static_cast<size_t>(kPositions * nd * tiles * co));
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t n = c / chunks_per_item, d0 = (c % chunks_per_item) * nd, d1 = std::min(d, d0 + nd);
      const int64_t rows = (d1 - d0) * tiles, slices = d1 - d0 + 2;
      const float* xn = x + n * d * h * wd * ci;
      // Slice z holds input depth d0 - 1 + z (the SAME padding's zeros outside [0, d)).
      for (int64_t z = 0; z < slices; ++z) {
        const int64_t id = d0 - 1 + z;
        transform_slice(id >= 0 && id < d ? xn + id * h * wd * ci : nullptr, h, wd, ci, v.data() + z * tiles * ci,
                        (nd + 2) * tiles * ci);
      }
      // M[xi] [rows, co] = sum over kt of V[xi][slices kt..] [rows, ci] . U[xi][kt] [ci, co]:
      // output depth d0 + r reads slice r + kt.
      for (int64_t xi = 0; xi < kPositions; ++xi)
        for (int64_t kt = 0; kt < 3; ++kt)
          sgemm_threaded(false, false, rows, co, ci, 1.0f, v.data() + (xi * (nd + 2) + kt) * tiles * ci, ci,
                         u.data() + (xi * 3 + kt) * ci * co, co, kt == 0 ? 0.0f : 1.0f,
                         m.data() + xi * nd * tiles * co, co);
      for (int64_t od = d0; od < d1; ++od)
        untransform_slice(m.data() + (od - d0) * tiles * co, nd * tiles * co, bias, h, wd, co,
                          y + (n * d + od) * h * wd * co);
    }
  });
}

}  // namespace hl::cpu
