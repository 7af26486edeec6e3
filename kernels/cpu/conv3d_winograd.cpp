#include "kernels/cpu/conv3d_winograd.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "kernels/common/error.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/parallel.h"

namespace hl::cpu {

bool conv3d_winograd_applies(const Conv3dShape& s) {
  return s.same && s.kd == 3 && s.kh == 3 && s.kw == 3 && s.sd == 1 && s.sh == 1 && s.sw == 1;
}

namespace {

// Channels are handled kLanes at a time (AVX-512 clones of the transforms where the CPU
// has it, target_clones' portable default elsewhere).
constexpr int64_t kLanes = 16;

// kLanes floats as one GCC vector: one zmm register in the AVX-512 clones, four xmm in the
// default ones. Written out this way because the compiler, left to vectorize loops over
// float[t][t][kLanes] arrays, assembled vectors from scalar loads (perf: half of the
// input transform's time).
typedef float Lanes __attribute__((vector_size(kLanes * sizeof(float))));

__attribute__((always_inline)) inline void load(Lanes& v, const float* p) { std::memcpy(&v, p, sizeof v); }
// The first n lanes from p (null: zeros), the rest 0.
__attribute__((always_inline)) inline void load_part(Lanes& v, const float* p, int64_t n) {
  if (p && n == kLanes) {
    std::memcpy(&v, p, sizeof v);
  } else {
    v = Lanes{};
    if (p) std::memcpy(&v, p, static_cast<size_t>(n) * sizeof(float));
  }
}
// The first n lanes of v to p.
__attribute__((always_inline)) inline void store_part(float* p, const Lanes& v, int64_t n) {
  if (n == kLanes)
    std::memcpy(p, &v, sizeof v);
  else
    std::memcpy(p, &v, static_cast<size_t>(n) * sizeof(float));
}

// dst[0..n) = src[0..n), n <= kLanes. A full block is a constant-length copy (one vector
// move where the caller is vectorized); the variable-length loop alone became `rep movsq`,
// which made the filter transform ~10x slower (perf).
__attribute__((always_inline)) inline void copy_lanes(const float* src, float* dst, int64_t n) {
  if (n == kLanes)
    for (int64_t l = 0; l < kLanes; ++l) dst[l] = src[l];
  else
    for (int64_t l = 0; l < n; ++l) dst[l] = src[l];
}

// The 1-D transforms of F(m, 3) (Lavin & Gray, "Fast Algorithms for Convolutional Neural
// Networks", 2016), applied to kLanes channels at once: in / out are rows of kLanes
// floats, `is` / `os` floats apart. filter: G g (3 -> t values), input: B^T d (t -> t),
// output: A^T m (t -> m). The 2-D transforms apply them to columns, then rows.
struct F2 {
  static constexpr int m = 2, t = 4;
  // G = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]]
  [[gnu::always_inline]] static void filter(const float* in, int64_t is, float* out, int64_t os) {
    for (int64_t l = 0; l < kLanes; ++l) {
      const float g0 = in[l], g1 = in[is + l], g2 = in[2 * is + l];
      out[l] = g0;
      out[os + l] = 0.5f * (g0 + g1 + g2);
      out[2 * os + l] = 0.5f * (g0 - g1 + g2);
      out[3 * os + l] = g2;
    }
  }
  // B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
  [[gnu::always_inline]] static void input(const Lanes* in, int64_t is, Lanes* out, int64_t os) {
    const Lanes d0 = in[0], d1 = in[is], d2 = in[2 * is], d3 = in[3 * is];
    out[0] = d0 - d2;
    out[os] = d1 + d2;
    out[2 * os] = d2 - d1;
    out[3 * os] = d1 - d3;
  }
  // A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]
  [[gnu::always_inline]] static void output(const Lanes* in, int64_t is, Lanes* out, int64_t os) {
    const Lanes m0 = in[0], m1 = in[is], m2 = in[2 * is], m3 = in[3 * is];
    out[0] = m0 + m1 + m2;
    out[os] = m1 - m2 - m3;
  }
};

struct F4 {
  static constexpr int m = 4, t = 6;
  // Multiplying by the rounded reciprocals instead of dividing: U moves by an ulp, far
  // inside the bound the test derives for F(4x4), and the filter transform is cheaper.
  static constexpr float kMinusSixth = -1.0f / 6.0f, kTwentyFourth = 1.0f / 24.0f;
  // G = [[1/4, 0, 0], [-1/6, -1/6, -1/6], [-1/6, 1/6, -1/6], [1/24, 1/12, 1/6],
  //      [1/24, -1/12, 1/6], [0, 0, 1]]
  [[gnu::always_inline]] static void filter(const float* in, int64_t is, float* out, int64_t os) {
    for (int64_t l = 0; l < kLanes; ++l) {
      const float g0 = in[l], g1 = in[is + l], g2 = in[2 * is + l];
      out[l] = 0.25f * g0;
      out[os + l] = kMinusSixth * (g0 + g1 + g2);
      out[2 * os + l] = kMinusSixth * (g0 - g1 + g2);
      out[3 * os + l] = kTwentyFourth * (g0 + 2.0f * g1 + 4.0f * g2);
      out[4 * os + l] = kTwentyFourth * (g0 - 2.0f * g1 + 4.0f * g2);
      out[5 * os + l] = g2;
    }
  }
  // B^T = [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
  //        [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]]
  [[gnu::always_inline]] static void input(const Lanes* in, int64_t is, Lanes* out, int64_t os) {
    const Lanes d0 = in[0], d1 = in[is], d2 = in[2 * is], d3 = in[3 * is], d4 = in[4 * is], d5 = in[5 * is];
    out[0] = 4.0f * d0 - 5.0f * d2 + d4;
    out[os] = (d3 + d4) - 4.0f * (d1 + d2);
    out[2 * os] = (d4 - d3) + 4.0f * (d1 - d2);
    out[3 * os] = (d4 - d2) + 2.0f * (d3 - d1);
    out[4 * os] = (d4 - d2) - 2.0f * (d3 - d1);
    out[5 * os] = 4.0f * d1 - 5.0f * d3 + d5;
  }
  // A^T = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]
  [[gnu::always_inline]] static void output(const Lanes* in, int64_t is, Lanes* out, int64_t os) {
    const Lanes m0 = in[0], m1 = in[is], m2 = in[2 * is], m3 = in[3 * is], m4 = in[4 * is], m5 = in[5 * is];
    const Lanes a = m1 + m2, b = m1 - m2, c = m3 + m4, e = m3 - m4;
    out[0] = m0 + a + c;
    out[os] = b + 2.0f * e;
    out[2 * os] = a + 4.0f * c;
    out[3 * os] = b + 8.0f * e + m5;
  }
};

// U [P][3][c_in][c_out]: U[xi][kt] = (G g G^T)[xi] with g = w[kt, :, :, ci, co] for the
// (ci, co) pairs p0..p1 (cc = c_in c_out of them).
template <class W>
__attribute__((target_clones("avx512f", "default"))) void transform_filter_range(const float* w, int64_t cc,
                                                                                 int64_t kt, int64_t p0, int64_t p1,
                                                                                 float* u) {
  constexpr int t = W::t;
  for (int64_t p = p0; p < p1; p += kLanes) {
    const int64_t n = std::min(kLanes, p1 - p);
    float g[3][3][kLanes] = {}, gg[t][3][kLanes], v[t][t][kLanes];
    for (int kh = 0; kh < 3; ++kh)
      for (int kw = 0; kw < 3; ++kw)
        copy_lanes(w + ((kt * 3 + kh) * 3 + kw) * cc + p, g[kh][kw], n);
    for (int j = 0; j < 3; ++j) W::filter(&g[0][j][0], 3 * kLanes, &gg[0][j][0], 3 * kLanes);  // G g
    for (int i = 0; i < t; ++i) W::filter(&gg[i][0][0], kLanes, &v[i][0][0], kLanes);          // (G g) G^T
    for (int i = 0; i < t; ++i)
      for (int j = 0; j < t; ++j)
        copy_lanes(v[i][j], u + ((i * t + j) * 3 + kt) * cc + p, n);
  }
}

// V[xi] for one input slice [h, w, c] (null: a zero slice of the depth padding) into
// v + xi * xi_stride + tile * c: B^T patch B, the t x t patch at rows m i - 1..,
// columns m j - 1.. (zeros outside).
template <class W>
__attribute__((target_clones("avx512f", "default"))) void transform_slice(const float* x, int64_t h, int64_t w,
                                                                          int64_t c, float* v, int64_t xi_stride) {
  constexpr int m = W::m, t = W::t;
  const int64_t th = (h + m - 1) / m, tw = (w + m - 1) / m;
  for (int64_t i = 0; i < th; ++i)
    for (int64_t j = 0; j < tw; ++j) {
      std::array<const float*, t * t> p;  // null: a zero of the padding
      bool inside = true;                 // the whole patch inside the slice
      for (int64_t r = 0; r < t; ++r)
        for (int64_t q = 0; q < t; ++q) {
          const int64_t ih = m * i - 1 + r, iw = m * j - 1 + q;
          p[r * t + q] = x && ih >= 0 && ih < h && iw >= 0 && iw < w ? x + (ih * w + iw) * c : nullptr;
          inside = inside && p[r * t + q];
        }
      float* out = v + (i * tw + j) * c;
      for (int64_t k = 0; k < c; k += kLanes) {
        const int64_t n = std::min(kLanes, c - k);
        Lanes d[t][t], s[t][t], o[t][t];
        if (inside && n == kLanes)  // most blocks
          for (int q = 0; q < t * t; ++q) load(d[q / t][q % t], p[q] + k);
        else
          for (int q = 0; q < t * t; ++q) load_part(d[q / t][q % t], p[q] ? p[q] + k : nullptr, n);
        for (int q = 0; q < t; ++q) W::input(&d[0][q], t, &s[0][q], t);  // B^T d
        for (int r = 0; r < t; ++r) W::input(&s[r][0], 1, &o[r][0], 1);  // (B^T d) B
        for (int q = 0; q < t * t; ++q) store_part(out + q * xi_stride + k, o[q / t][q % t], n);
      }
    }
}

// y = A^T M A + bias (then max(., 0) when relu) for the tiles of one output slice: m +
// xi * xi_stride + tile * co holds M[xi] of a tile; y is the slice [h, w, co]. A tile's
// rows / columns past the height / width are dropped.
template <class W>
__attribute__((target_clones("avx512f", "default"))) void untransform_slice(const float* mm, int64_t xi_stride,
                                                                            const float* bias, int64_t h, int64_t w,
                                                                            int64_t co, bool relu, float* y) {
  constexpr int m = W::m, t = W::t;
  const int64_t th = (h + m - 1) / m, tw = (w + m - 1) / m;
  for (int64_t i = 0; i < th; ++i)
    for (int64_t j = 0; j < tw; ++j) {
      const float* mp = mm + (i * tw + j) * co;
      const int rows = static_cast<int>(std::min<int64_t>(m, h - m * i)),
                cols = static_cast<int>(std::min<int64_t>(m, w - m * j));
      for (int64_t k = 0; k < co; k += kLanes) {
        const int64_t n = std::min(kLanes, co - k);
        Lanes a[t][t], s[m][t], o[m][m], b;
        for (int q = 0; q < t * t; ++q) load_part(a[q / t][q % t], mp + q * xi_stride + k, n);
        load_part(b, bias ? bias + k : nullptr, n);
        for (int q = 0; q < t; ++q) W::output(&a[0][q], t, &s[0][q], t);  // A^T M
        for (int r = 0; r < m; ++r) W::output(&s[r][0], 1, &o[r][0], 1);  // (A^T M) A
        const Lanes zero = {};
        for (int r = 0; r < rows; ++r)
          for (int q = 0; q < cols; ++q) {
            Lanes v = b + o[r][q];
            if (relu) v = v < zero ? zero : v;  // std::max(v, 0): -0 and NaN kept
            store_part(y + ((m * i + r) * w + m * j + q) * co + k, v, n);
          }
      }
    }
}

// U [P][3][ci][co] into u.
template <class W>
void transform_filter(const float* w, int64_t ci, int64_t co, float* u) {
  const int64_t cc = ci * co;
  for (int64_t kt = 0; kt < 3; ++kt)
    parallel_for(cc, int64_t(1) << 14,
                 [&](int64_t p0, int64_t p1) { transform_filter_range<W>(w, cc, kt, p0, p1, u); });
}

int64_t filter_size(WinogradTile tile, int64_t ci, int64_t co) {
  const int64_t t = tile == WinogradTile::F4 ? 6 : 4;
  return t * t * 3 * ci * co;
}

void check_applies(const Conv3dShape& s) {
  s.validate("conv3d");
  if (!conv3d_winograd_applies(s)) throw Error("conv3d Winograd: needs a 3x3x3 stride-1 SAME kernel");
}

// Per-thread scratch `which` (0: V, 1: M, 2: the unprepared call's U) of at least n
// floats, kept for the thread's life and grown on demand: a fresh zeroed vector per call
// cost ~10% of a layer in memset and page faults (perf, 512 -> 512 channels at 14 x 14),
// a fresh U as much again. Every element the GEMMs read is written first (transform_slice
// fills whole slices, the first GEMM per xi has beta 0).
float* scratch(int which, size_t n) {
  thread_local std::unique_ptr<float[]> buffer[3];
  thread_local size_t capacity[3] = {0, 0, 0};
  if (capacity[which] < n) {
    buffer[which].reset();  // free first: the peak stays one buffer
    buffer[which].reset(new float[n]);
    capacity[which] = n;
  }
  return buffer[which].get();
}

template <class W>
void run(const Conv3dShape& s, const float* u, const float* x, const float* bias, float* y, bool relu) {
  constexpr int64_t positions = W::t * W::t, m = W::m;
  const int64_t ci = s.c_in, co = s.c_out, d = s.depth, h = s.height, wd = s.width;
  const int64_t tiles = ((h + m - 1) / m) * ((wd + m - 1) / m);
  // Output depths per chunk: the chunk's V [P][nd + 2][tiles][ci] and M [P][nd][tiles][co]
  // within ~8M floats, and at least as many chunks as threads. (Copying V three times
  // into [rows, 3 ci] rows for one GEMM of depth 3 ci per xi was slower: more memory.)
  const int64_t per_slice = positions * tiles * (ci + co);
  int64_t nd = std::clamp<int64_t>((int64_t(1) << 23) / per_slice, 1, d);
  nd = std::min<int64_t>(nd, (d * s.batch + num_threads() - 1) / num_threads());
  nd = std::max<int64_t>(nd, 1);
  int64_t chunks_per_item = (d + nd - 1) / nd;
  // A whole number of chunks per thread where the depth allows (parallel_for gives each
  // thread a contiguous range: 7 chunks on 2 threads kept one idle for a seventh of the layer).
  while (chunks_per_item < d && (s.batch * chunks_per_item) % num_threads() != 0) ++chunks_per_item;
  nd = (d + chunks_per_item - 1) / chunks_per_item;  // balanced chunks
  chunks_per_item = (d + nd - 1) / nd;
  parallel_for(s.batch * chunks_per_item, 1, [&](int64_t c0, int64_t c1) {
    float* v = scratch(0, static_cast<size_t>(positions * (nd + 2) * tiles * ci));
    float* mv = scratch(1, static_cast<size_t>(positions * nd * tiles * co));
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t n = c / chunks_per_item, d0 = (c % chunks_per_item) * nd, d1 = std::min(d, d0 + nd);
      const int64_t rows = (d1 - d0) * tiles, slices = d1 - d0 + 2;
      const float* xn = x + n * d * h * wd * ci;
      // Slice z holds input depth d0 - 1 + z (the SAME padding's zeros outside [0, d)).
      for (int64_t z = 0; z < slices; ++z) {
        const int64_t id = d0 - 1 + z;
        transform_slice<W>(id >= 0 && id < d ? xn + id * h * wd * ci : nullptr, h, wd, ci,
                           v + z * tiles * ci, (nd + 2) * tiles * ci);
      }
      // M[xi] [rows, co] = sum over kt of V[xi][slices kt..] [rows, ci] . U[xi][kt] [ci, co]:
      // output depth d0 + r reads slice r + kt.
      for (int64_t xi = 0; xi < positions; ++xi)
        for (int64_t kt = 0; kt < 3; ++kt)
          sgemm_threaded(false, false, rows, co, ci, 1.0f, v + (xi * (nd + 2) + kt) * tiles * ci, ci,
                         u + (xi * 3 + kt) * ci * co, co, kt == 0 ? 0.0f : 1.0f, mv + xi * nd * tiles * co,
                         co);
      for (int64_t od = d0; od < d1; ++od)
        untransform_slice<W>(mv + (od - d0) * tiles * co, nd * tiles * co, bias, h, wd, co, relu,
                             y + (n * d + od) * h * wd * co);
    }
  });
}

std::string shape_text(const Conv3dShape& s) {
  return "c_in " + std::to_string(s.c_in) + ", c_out " + std::to_string(s.c_out) + ", height " +
         std::to_string(s.height) + ", width " + std::to_string(s.width);
}

}  // namespace

WinogradTile winograd_tile_for(const Conv3dShape& s) {
  // Ragged last tiles: F(4x4) computes ceil(h / 4) ceil(w / 4) 36-position tiles, F(2x2)
  // ceil(h / 2) ceil(w / 2) 16-position ones; take F(4x4) when it does less GEMM work.
  const int64_t f4 = ((s.height + 3) / 4) * ((s.width + 3) / 4) * 36;
  const int64_t f2 = ((s.height + 1) / 2) * ((s.width + 1) / 2) * 16;
  return f4 < f2 ? WinogradTile::F4 : WinogradTile::F2;
}

WinogradFilter prepare_winograd_filter(const Conv3dShape& s, const float* w, WinogradTile tile) {
  check_applies(s);
  if (tile != WinogradTile::Auto && tile != WinogradTile::F2 && tile != WinogradTile::F4)
    throw Error("conv3d Winograd: tile " + std::to_string(static_cast<int>(tile)) + " is not 0 (auto), 2 or 4");
  WinogradFilter f;
  f.shape = s;
  f.tile = tile == WinogradTile::Auto ? winograd_tile_for(s) : tile;
  f.u.resize(static_cast<size_t>(filter_size(f.tile, s.c_in, s.c_out)));
  if (f.tile == WinogradTile::F4)
    transform_filter<F4>(w, s.c_in, s.c_out, f.u.data());
  else
    transform_filter<F2>(w, s.c_in, s.c_out, f.u.data());
  return f;
}

void conv3d_winograd_prepared_f32(const Conv3dShape& s, const WinogradFilter& f, const float* x, const float* bias,
                                  float* y, bool relu) {
  s.validate("conv3d");
  const Conv3dShape& p = f.shape;
  if (!conv3d_winograd_applies(s) || s.c_in != p.c_in || s.c_out != p.c_out || s.height != p.height ||
      s.width != p.width)
    throw Error("conv3d Winograd: the prepared filter was made for " + shape_text(p) + ", not for " +
                shape_text(s) + (conv3d_winograd_applies(s) ? "" : " (not a 3x3x3 stride-1 SAME kernel)"));
  if (f.u.size() != static_cast<size_t>(filter_size(f.tile, p.c_in, p.c_out)))
    throw Error("conv3d Winograd: the prepared filter holds " + std::to_string(f.u.size()) + " values, not " +
                std::to_string(filter_size(f.tile, p.c_in, p.c_out)) + " for " + shape_text(p));
  if (f.tile == WinogradTile::F4)
    run<F4>(s, f.u.data(), x, bias, y, relu);
  else
    run<F2>(s, f.u.data(), x, bias, y, relu);
}

void conv3d_winograd_f32(const Conv3dShape& s, const float* x, const float* w, const float* bias, float* y) {
  // What prepare_winograd_filter + conv3d_winograd_prepared_f32 do (the same functions, so
  // the same bits), with U in this thread's scratch instead of a fresh vector.
  check_applies(s);
  const WinogradTile tile = winograd_tile_for(s);
  float* u = scratch(2, static_cast<size_t>(filter_size(tile, s.c_in, s.c_out)));
  if (tile == WinogradTile::F4) {
    transform_filter<F4>(w, s.c_in, s.c_out, u);
    run<F4>(s, u, x, bias, y, false);
  } else {
    transform_filter<F2>(w, s.c_in, s.c_out, u);
    run<F2>(s, u, x, bias, y, false);
  }
}

}  // namespace hl::cpu
