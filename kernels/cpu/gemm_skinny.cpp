// Tall-skinny f32 GEMM (see gemm_skinny.h). Layout of the work for one batch entry:
//
//   B (k x n, or n x k when transposed) is packed once into column panels of at most 64
//   columns, each stored as k rows of 16 * nv floats (nv = vectors in the panel; columns
//   past n are zero, so the micro-kernel always loads whole vectors).
//   C is walked in tiles of R rows x one panel. A tile's R x nv zmm accumulators sum
//   A[r][p] * packed_B[p][:] over p (in blocks, see kSumBlock), reading A's rows where
//   they are (no copy), then C = alpha * sum + beta * C is written with a mask on the
//   panel's last vector.
//
// Register budget (32 zmm): R x nv accumulators + nv vectors of B + one broadcast of A.
// 6 x 4 = 24 accumulators for 64-column panels; an 80-column n (5 vectors) takes one
// 4 x 5 = 20 panel rather than 64 + 16, so A is read once and B's loads are shared.
#include "kernels/cpu/gemm_skinny.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

#include "kernels/common/error.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/scratch.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HL_SKINNY_X86 1
#else
#define HL_SKINNY_X86 0
#endif

namespace hl::cpu {

namespace {

constexpr int64_t kLanes = 16;  // floats per zmm
constexpr int64_t kMaxN = 128;
constexpr int kMaxVectors = 5;  // widest panel (n = 65..80 as one panel)
constexpr int kMaxRows = 6;     // tallest tile
// Products are summed in blocks of kSumBlock values of p, then the blocks' sums added up,
// so rounding error grows with kSumBlock + k / kSumBlock rather than k. One running
// float sum over all of k had twice OpenBLAS's error at k = 2048 (8e-7 against 3.6e-7
// normwise relative, x in [0, 2)), enough to fail the 10-step PyTorch training golden
// (HighlightModelGolden.TenCccTrainingStepsMatchPyTorch); blocks of 128 give 2.1e-7 at
// no measurable cost (64: 1.7e-7 but slower at k = 2048).
constexpr int64_t kSumBlock = 128;

// One column panel of C and its place in the packed B.
struct Panel {
  int64_t col0 = 0;    // first column of C
  int64_t cols = 0;    // columns of C it covers (the last vector may be partial)
  int nv = 0;          // vectors: ceil(cols / 16)
  int64_t offset = 0;  // first float of the panel in the packed B (k rows of 16 * nv)
};

struct Plan {
  std::array<Panel, 2> panel;
  int panels = 0;
  int rows = 0;            // rows of C per tile
  int64_t packed_size = 0; // floats of packed B
};

// Splits n (1..128) into panels: up to 4 vectors in one panel of 6-row tiles; 5 vectors
// as one panel of 4-row tiles (4 x 5 accumulators); 6..8 vectors as two panels of <= 4.
Plan make_plan(int64_t n, int64_t k) {
  const int vectors = static_cast<int>((n + kLanes - 1) / kLanes);
  Plan plan;
  plan.rows = vectors == 5 ? 4 : 6;
  int widths[2] = {vectors, 0};
  if (vectors > 5) widths[0] = (vectors + 1) / 2, widths[1] = vectors / 2;  // 3+3, 4+3, 4+4
  int64_t col0 = 0, offset = 0;
  for (int w : widths) {
    if (w == 0) continue;
    Panel& p = plan.panel[plan.panels++];
    p.col0 = col0;
    p.cols = std::min<int64_t>(n - col0, w * kLanes);
    p.nv = w;
    p.offset = offset;
    col0 += p.cols;
    offset += k * w * kLanes;
  }
  plan.packed_size = offset;
  return plan;
}

// Packs B's columns [col0, col0 + cols) into k rows of 16 * nv floats, zero-padded.
// B is [k, n] (ldb = n) or, when transposed, [n, k] (ldb = k).
void pack_panel(const float* b, bool trans_b, int64_t n, int64_t k, const Panel& p, float* out) {
  const int64_t width = p.nv * kLanes;
  for (int64_t kk = 0; kk < k; ++kk) {
    float* row = out + kk * width;
    for (int64_t j = 0; j < width; ++j) {
      const int64_t col = p.col0 + j;
      row[j] = j >= p.cols ? 0.0f : trans_b ? b[col * k + kk] : b[kk * n + col];
    }
  }
}

#if HL_SKINNY_X86
// GCC 12's avx512fintrin.h trips its own -Wuninitialized on the intrinsics' internal
// "undefined" operands (GCC bug 105593, fixed in 12.3/13); see philox_fill.cpp.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// One tile: C[0..R)[0..16 NV) = alpha * A[0..R)[0..k) x bp + beta * C, where A's rows are
// lda apart, bp is a packed panel (k rows of 16 NV floats, 64-byte aligned), C's rows are
// ldc apart and the last vector of each row is masked by `tail`.
template <int R, int NV>
__attribute__((target("avx512f"))) void tile(const float* a, int64_t lda, const float* bp, int64_t k, float* c,
                                             int64_t ldc, __mmask16 tail, float alpha, float beta) {
  __m512 acc[R][NV];
  // Sum of the finished blocks of p (see kSumBlock), kept out of the registers.
  alignas(64) float done[R][NV][kLanes];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) acc[r][j] = _mm512_setzero_ps();

  for (int64_t p0 = 0; p0 < k; p0 += kSumBlock) {
    if (p0 > 0)  // acc holds the block that ended at p0: add it to done, restart from zero
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
        for (int j = 0; j < NV; ++j) {
          const __m512 sum = p0 == kSumBlock ? acc[r][j] : _mm512_add_ps(_mm512_load_ps(done[r][j]), acc[r][j]);
          _mm512_store_ps(done[r][j], sum);
          acc[r][j] = _mm512_setzero_ps();
        }
    const int64_t p1 = std::min(k, p0 + kSumBlock);
    for (int64_t p = p0; p < p1; ++p) {
      // Once per cache line of A: fetch the same line of the next tile's rows. Without it
      // each tile's first touches of its rows wait on memory (short rows give the hardware
      // prefetcher no stream to follow): measured 103 -> 160 GFLOP/s at k = 385, n = 80.
      // Past the last row of A it fetches nothing useful; prefetches never fault.
      if ((p & 15) == 0)
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) _mm_prefetch(reinterpret_cast<const char*>(a + (r + R) * lda + p), _MM_HINT_T0);
      __m512 bv[NV];
#pragma GCC unroll 8
      for (int j = 0; j < NV; ++j) bv[j] = _mm512_load_ps(bp + (p * NV + j) * kLanes);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const __m512 av = _mm512_set1_ps(a[r * lda + p]);
#pragma GCC unroll 8
        for (int j = 0; j < NV; ++j) acc[r][j] = _mm512_fmadd_ps(av, bv[j], acc[r][j]);
      }
    }
  }
  if (k > kSumBlock)
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
      for (int j = 0; j < NV; ++j) acc[r][j] = _mm512_add_ps(_mm512_load_ps(done[r][j]), acc[r][j]);

  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) {
      const __mmask16 mask = j == NV - 1 ? tail : static_cast<__mmask16>(0xFFFF);
      float* out = c + r * ldc + j * kLanes;
      __m512 v = _mm512_mul_ps(va, acc[r][j]);
      // beta == 0 must not read C (it may hold NaN). Masked loads and stores never touch
      // the lanes past n, which may lie past the end of C.
      if (beta != 0.0f) v = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mask, out), v);
      _mm512_mask_storeu_ps(out, mask, v);
    }
}

using TileFn = void (*)(const float*, int64_t, const float*, int64_t, float*, int64_t, __mmask16, float, float);

// kTiles[nv - 1][rows - 1]: every tile height up to kMaxRows (the last rows of C) for
// every panel width.
template <int NV, int... R>
constexpr std::array<TileFn, kMaxRows> row_tiles(std::integer_sequence<int, R...>) {
  return {tile<R + 1, NV>...};
}
template <int... NV>
constexpr std::array<std::array<TileFn, kMaxRows>, kMaxVectors> all_tiles(std::integer_sequence<int, NV...>) {
  return {row_tiles<NV + 1>(std::make_integer_sequence<int, kMaxRows>{})...};
}
constexpr auto kTiles = all_tiles(std::make_integer_sequence<int, kMaxVectors>{});
#pragma GCC diagnostic pop

// C[m, n] of one batch entry from A[m, k] (lda = k) and the packed B, tile by tile.
// For each block of rows every panel is done before moving on, so a second panel
// re-reads the block's rows of A from cache rather than from memory.
void run_entry(const Plan& plan, const float* a, const float* packed, float* c, int64_t m, int64_t n, int64_t k,
               float alpha, float beta) {
  for (int64_t i = 0; i < m; i += plan.rows) {
    const int rows = static_cast<int>(std::min<int64_t>(plan.rows, m - i));
    for (int pi = 0; pi < plan.panels; ++pi) {
      const Panel& p = plan.panel[pi];
      const int64_t last = p.cols - (p.nv - 1) * kLanes;  // valid lanes of the last vector, 1..16
      const auto tail = static_cast<__mmask16>((1u << last) - 1u);
      kTiles[p.nv - 1][rows - 1](a + i * k, k, packed + p.offset, k, c + i * n + p.col0, n, tail, alpha, beta);
    }
  }
}

// Threads to split one entry's rows over: at most `threads`, and only as many as give each
// at least kMinWorkPerThread multiply-adds (handing work to another thread costs
// microseconds; this threshold was measured when each split started a std::thread,
// ~10-20 us, about 4M multiply-adds of this kernel) and one tile of rows.
constexpr int64_t kMinWorkPerThread = int64_t{1} << 22;
int parts_for(const GemmShape& s, const Plan& plan, int threads) {
  const int64_t by_work = std::max<int64_t>(1, s.m * s.n * s.k / kMinWorkPerThread);
  const int64_t by_rows = (s.m + plan.rows - 1) / plan.rows;
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>({threads, by_work, by_rows})));
}

// run_entry over at most `parts` bands of whole tiles of rows, on the engine's thread
// pool (kernels/cpu/parallel.h; the calling thread takes the first band). The bands
// share the packed B and write disjoint rows of C.
void run_rows_split(const Plan& plan, const float* a, const float* packed, float* c, const GemmShape& s, int parts) {
  const int64_t tiles = (s.m + plan.rows - 1) / plan.rows;
  parallel_for(tiles, (tiles + parts - 1) / parts, [&](int64_t t0, int64_t t1) {
    const int64_t first = t0 * plan.rows, end = std::min(s.m, t1 * plan.rows);
    run_entry(plan, a + first * s.k, packed, c + first * s.n, end - first, s.n, s.k, s.alpha, s.beta);
  });
}
#endif  // HL_SKINNY_X86

}  // namespace

bool gemm_skinny_supported() {
#if HL_SKINNY_X86
  static const bool ok = __builtin_cpu_supports("avx512f");
  return ok;
#else
  return false;
#endif
}

bool gemm_skinny_shape_ok(const GemmShape& s) {
  return !s.trans_a && s.n >= 1 && s.n <= kMaxN && s.m >= 1 && s.k >= 1 && s.batch >= 1;
}

bool gemm_skinny_preferred(const GemmShape& s) {
  // Below about a million multiply-adds (or a few dozen rows) the operands sit in cache,
  // OpenBLAS's packing is cheap and its kernel is as fast or faster: measured losses at
  // m, k, n = 256, 32, 64 and 1024, 16, 16 and 16, 64, 64; wins from 256, 64, 64 and
  // 4800, 16, 16 up (bench/bench_gemm_skinny.cpp).
  return gemm_skinny_supported() && gemm_skinny_shape_ok(s) && s.m >= 64 && s.m * s.n * s.k >= (int64_t{1} << 20);
}

void gemm_skinny_f32(const GemmShape& s, const float* a, const float* b, float* c, int threads) {
  if (!gemm_skinny_supported()) throw Error("gemm_skinny_f32: needs AVX-512F");
  if (!gemm_skinny_shape_ok(s)) throw Error("gemm_skinny_f32: shape out of scope");
#if HL_SKINNY_X86
  const Plan plan = make_plan(s.n, s.k);
  const int parts = parts_for(s, plan, threads);
  Scratch<float> packed(plan.packed_size);  // host_cache blocks are 64-byte aligned
  for (int64_t i = 0; i < s.batch; ++i) {
    // A shared B (stride 0) is packed once.
    if (i == 0 || s.stride_b != 0)
      for (int pi = 0; pi < plan.panels; ++pi)
        pack_panel(b + i * s.stride_b, s.trans_b, s.n, s.k, plan.panel[pi], packed.data() + plan.panel[pi].offset);
    run_rows_split(plan, a + i * s.stride_a, packed.data(), c + i * s.stride_c, s, parts);
  }
#else
  (void)a, (void)b, (void)c, (void)threads;
#endif
}

}  // namespace hl::cpu
