// CUDA kernels against the CPU kernels (the specification), called through their raw
// pointer interfaces on fresh random inputs, with every output poisoned (NaN) first.
// Exact ops (add, mul, scale, relu, max, transpose, casts, uniform) must match bit for
// bit; sums and means (both accumulate in double) within 1e-6; transcendentals and GEMM
// (different summation order) within the f32 tolerance of DESIGN section 6, 1e-5.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "cuda/cuda_test_util.h"
#include "kernels/common/half.h"
#include "kernels/cpu/cast.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/random.h"
#include "kernels/cpu/reduce.h"
#include "kernels/cpu/transpose.h"
#include "kernels/cuda/cast.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/random.h"
#include "kernels/cuda/reduce.h"
#include "kernels/cuda/transpose.h"
#include "support/test_support.h"

namespace hl {
namespace {

using test::download;
using test::expect_close;
using test::expect_same_bytes;
using test::expect_same_floats;
using test::poison;
using test::ptr;
using test::random_floats;
using test::upload;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// Random values in [-8, 8] with the special values planted at the front.
std::vector<float> inputs_with_specials(int64_t n, uint32_t seed) {
  auto v = random_floats(n, seed, -8, 8);
  const float specials[] = {kNaN, kInf, -kInf, -0.0f, 0.0f, 1e-40f, -1e30f, 1e30f};
  for (size_t i = 0; i < std::size(specials) && i < v.size(); ++i) v[i] = specials[i];
  return v;
}

// --- elementwise ------------------------------------------------------------------

// n covers the float4 path, its scalar tail, and tiny inputs; `misalign` shifts every
// pointer by one float so the scalar-only path runs too.
struct ElementwiseCase {
  int64_t n;
  bool misalign;
};
void PrintTo(const ElementwiseCase& c, std::ostream* os) { *os << "n=" << c.n << (c.misalign ? " misaligned" : ""); }

class CudaElementwise : public ::testing::TestWithParam<ElementwiseCase> {};

TEST_P(CudaElementwise, MatchesCpu) {
  HL_REQUIRE_CUDA();
  const auto [n, misalign] = GetParam();
  const int64_t shift = misalign ? 1 : 0;
  auto a = inputs_with_specials(n + shift, 1), b = random_floats(n + shift, 2, -8, 8);
  Tensor da = upload(a), db = upload(b), dy = test::device_buffer<float>(n + shift);
  const float* pa = ptr<float>(da) + shift;
  const float* pb = ptr<float>(db) + shift;
  float* py = ptr<float>(dy) + shift;
  std::vector<float> expected(static_cast<size_t>(n));
  auto run = [&](const char* what, auto cuda_fn, auto cpu_fn, bool exact) {
    poison(dy);
    cuda_fn(py);
    cpu_fn(expected.data());
    auto got = download<float>(dy, n + shift);
    got.erase(got.begin(), got.begin() + shift);
    const std::string label = std::string(what) + " n=" + std::to_string(n) + (misalign ? " misaligned" : "");
    if (exact) {
      expect_same_floats(got, expected, label);
    } else {
      // NaN-free comparison within tolerance, then the special values exactly as NaN-ness.
      for (size_t i = 0; i < got.size(); ++i) {
        ASSERT_EQ(std::isnan(got[i]), std::isnan(expected[i])) << label << " element " << i;
        if (std::isnan(got[i])) got[i] = expected[i] = 0.0f;
      }
      expect_close(got, expected, 1e-5, label);
    }
  };
  const float* ha = a.data() + shift;
  const float* hb = b.data() + shift;
  auto s = test::cuda_stream();
  run("add", [&](float* y) { cuda::add_f32(pa, pb, y, n, s); }, [&](float* y) { cpu::add_f32(ha, hb, y, n); }, true);
  run("mul", [&](float* y) { cuda::mul_f32(pa, pb, y, n, s); }, [&](float* y) { cpu::mul_f32(ha, hb, y, n); }, true);
  run("scale", [&](float* y) { cuda::scale_f32(pa, -0.37f, y, n, s); },
      [&](float* y) { cpu::scale_f32(ha, -0.37f, y, n); }, true);
  run("relu", [&](float* y) { cuda::relu_f32(pa, y, n, s); }, [&](float* y) { cpu::relu_f32(ha, y, n); }, true);
  run("sigmoid", [&](float* y) { cuda::sigmoid_f32(pa, y, n, s); }, [&](float* y) { cpu::sigmoid_f32(ha, y, n); },
      false);
  run("tanh", [&](float* y) { cuda::tanh_f32(pa, y, n, s); }, [&](float* y) { cpu::tanh_f32(ha, y, n); }, false);
}

INSTANTIATE_TEST_SUITE_P(Sizes, CudaElementwise,
                         ::testing::Values(ElementwiseCase{1, false}, ElementwiseCase{3, false},
                                           ElementwiseCase{8, false}, ElementwiseCase{4099, false},
                                           ElementwiseCase{(1 << 20) + 3, false}, ElementwiseCase{4099, true},
                                           ElementwiseCase{9, true}),
                         [](const auto& info) {
                           return "n" + std::to_string(info.param.n) + (info.param.misalign ? "_misaligned" : "");
                         });

TEST(CudaElementwise, InPlaceAndSpecialValues) {
  HL_REQUIRE_CUDA();
  // relu keeps NaN (as PyTorch does) and turns -0 into +0, like the CPU kernel.
  std::vector<float> x = {kNaN, -0.0f, -kInf, kInf, -1.0f, 2.5f, -1e-40f, 1e-40f};
  Tensor d = upload(x);
  cuda::relu_f32(ptr<float>(d), ptr<float>(d), static_cast<int64_t>(x.size()), test::cuda_stream());
  auto got = download<float>(d, static_cast<int64_t>(x.size()));
  EXPECT_TRUE(std::isnan(got[0])) << "relu must propagate NaN";
  EXPECT_FALSE(std::signbit(got[1])) << "relu(-0) is +0";
  std::vector<float> expected(x.size());
  cpu::relu_f32(x.data(), expected.data(), static_cast<int64_t>(x.size()));
  expect_same_floats(got, expected, "relu in place");

  // sigmoid saturates without overflow and keeps tiny tails.
  std::vector<float> s = {-1e30f, -100.0f, -20.0f, 0.0f, 20.0f, 100.0f, 1e30f, kNaN};
  Tensor ds = upload(s);
  cuda::sigmoid_f32(ptr<float>(ds), ptr<float>(ds), static_cast<int64_t>(s.size()), test::cuda_stream());
  auto gs = download<float>(ds, static_cast<int64_t>(s.size()));
  EXPECT_EQ(gs[0], 0.0f);
  EXPECT_GT(gs[1], 0.0f) << "sigmoid(-100) is a subnormal, not 0";
  EXPECT_EQ(gs[3], 0.5f);
  EXPECT_EQ(gs[6], 1.0f);
  EXPECT_TRUE(std::isnan(gs[7]));
}

// --- reductions -------------------------------------------------------------------

struct ReduceCase {
  int64_t outer, n, inner;
};
void PrintTo(const ReduceCase& c, std::ostream* os) { *os << "[" << c.outer << ", " << c.n << ", " << c.inner << "]"; }

class CudaReduce : public ::testing::TestWithParam<ReduceCase> {};

// Every kernel shape: inner == 1 with short rows (warp per row) and long rows (block per
// row), inner > 1 (columns), and outer beyond the grid's y limit.
TEST_P(CudaReduce, SumMeanMaxMatchCpu) {
  HL_REQUIRE_CUDA();
  const auto [outer, n, inner] = GetParam();
  const int64_t total = outer * n * inner, out = outer * inner;
  auto x = random_floats(total, 7, -3, 5);
  Tensor dx = upload(x), dy = test::device_buffer<float>(out);
  std::vector<float> expected(static_cast<size_t>(out));
  const std::string shape = "[" + std::to_string(outer) + ", " + std::to_string(n) + ", " + std::to_string(inner) + "]";
  auto s = test::cuda_stream();

  poison(dy);
  cuda::sum_dim_f32(ptr<float>(dx), ptr<float>(dy), outer, n, inner, s);
  cpu::sum_dim_f32(x.data(), expected.data(), outer, n, inner);
  expect_close(download<float>(dy, out), expected, 1e-6, "sum " + shape);

  poison(dy);
  cuda::mean_dim_f32(ptr<float>(dx), ptr<float>(dy), outer, n, inner, s);
  cpu::mean_dim_f32(x.data(), expected.data(), outer, n, inner);
  expect_close(download<float>(dy, out), expected, 1e-6, "mean " + shape);

  poison(dy);
  cuda::max_dim_f32(ptr<float>(dx), ptr<float>(dy), outer, n, inner, s);
  cpu::max_dim_f32(x.data(), expected.data(), outer, n, inner);
  expect_same_floats(download<float>(dy, out), expected, "max " + shape);
}

INSTANTIATE_TEST_SUITE_P(Shapes, CudaReduce,
                         ::testing::Values(ReduceCase{1, 1, 1}, ReduceCase{3, 5, 1}, ReduceCase{7, 1000, 1},
                                           ReduceCase{2, 1024, 1}, ReduceCase{3, 50000, 1}, ReduceCase{2, 17, 9},
                                           ReduceCase{4, 1, 33}, ReduceCase{1, 100000, 2}, ReduceCase{3, 64, 100},
                                           ReduceCase{70000, 3, 2}, ReduceCase{70000, 2, 1}),
                         [](const auto& info) {
                           return std::to_string(info.param.outer) + "x" + std::to_string(info.param.n) + "x" +
                                  std::to_string(info.param.inner);
                         });

TEST(CudaReduce, MaxPropagatesNaNAndEmptySumIsZero) {
  HL_REQUIRE_CUDA();
  // [2, 40, 3]: a NaN in column 1 of the first slice and in the last row of the second.
  const int64_t outer = 2, n = 40, inner = 3;
  auto x = random_floats(outer * n * inner, 3);
  x[(0 * n + 5) * inner + 1] = kNaN;
  x[(1 * n + 39) * inner + 2] = kNaN;
  Tensor dx = upload(x), dy = test::device_buffer<float>(outer * inner);
  poison(dy);
  cuda::max_dim_f32(ptr<float>(dx), ptr<float>(dy), outer, n, inner, test::cuda_stream());
  std::vector<float> expected(outer * inner);
  cpu::max_dim_f32(x.data(), expected.data(), outer, n, inner);
  auto got = download<float>(dy, outer * inner);
  EXPECT_TRUE(std::isnan(got[1]) && std::isnan(got[5]));
  expect_same_floats(got, expected, "max with NaN, columns");
  // The same through the row kernels (inner == 1).
  poison(dy);
  cuda::max_dim_f32(ptr<float>(dx), ptr<float>(dy), outer * inner, n, 1, test::cuda_stream());
  std::vector<float> rows(outer * inner);
  cpu::max_dim_f32(x.data(), rows.data(), outer * inner, n, 1);
  expect_same_floats(download<float>(dy, outer * inner), rows, "max with NaN, rows");

  // Summing over n = 0 gives 0; the mean over nothing is NaN on both sides.
  poison(dy);
  cuda::sum_dim_f32(ptr<float>(dx), ptr<float>(dy), 2, 0, 3, test::cuda_stream());
  for (float v : download<float>(dy, 6)) EXPECT_EQ(v, 0.0f);
  poison(dy);
  cuda::mean_dim_f32(ptr<float>(dx), ptr<float>(dy), 6, 0, 1, test::cuda_stream());
  for (float v : download<float>(dy, 6)) EXPECT_TRUE(std::isnan(v));
  EXPECT_THROW(cuda::max_dim_f32(ptr<float>(dx), ptr<float>(dy), 2, 0, 3, test::cuda_stream()), Error);
}

// --- transpose --------------------------------------------------------------------

TEST(CudaTranspose, BitExactForEveryElementSize) {
  HL_REQUIRE_CUDA();
  struct Case {
    int64_t batch, rows, cols;
  };
  std::mt19937 gen(5);
  for (size_t es : {1, 2, 4, 8}) {
    for (Case c : {Case{1, 1, 1}, Case{1, 32, 32}, Case{2, 33, 65}, Case{3, 1, 100}, Case{1, 100, 1},
                   Case{5, 64, 17}, Case{1, 1000, 3}, Case{70000, 2, 3}}) {
      const size_t nbytes = static_cast<size_t>(c.batch * c.rows * c.cols) * es;
      std::vector<uint8_t> x(nbytes), expected(nbytes);
      for (auto& v : x) v = static_cast<uint8_t>(gen());
      Tensor dx = upload(x), dy = test::device_buffer<uint8_t>(static_cast<int64_t>(nbytes));
      poison(dy);
      cuda::transpose(dx.raw(), dy.raw(), c.batch, c.rows, c.cols, es, test::cuda_stream());
      cpu::transpose(x.data(), expected.data(), c.batch, c.rows, c.cols, es);
      auto got = download<uint8_t>(dy, static_cast<int64_t>(nbytes));
      expect_same_bytes(got.data(), expected.data(), nbytes, es,
                        "transpose " + std::to_string(es) + "-byte [" + std::to_string(c.batch) + ", " +
                            std::to_string(c.rows) + ", " + std::to_string(c.cols) + "]");
    }
  }
  Tensor d = test::device_buffer<uint8_t>(16);
  EXPECT_THROW(cuda::transpose(d.raw(), d.raw(), 1, 1, 1, 3, test::cuda_stream()), Error);
}

// --- GEMM -------------------------------------------------------------------------

struct GemmCase {
  int64_t batch, m, n, k;
  bool share_b;  // stride_b = 0: one B for every batch entry
  float alpha, beta;
};

void check_gemm(const GemmCase& c, bool trans_a, bool trans_b) {
  GemmShape s;
  s.batch = c.batch;
  s.m = c.m;
  s.n = c.n;
  s.k = c.k;
  s.trans_a = trans_a;
  s.trans_b = trans_b;
  s.alpha = c.alpha;
  s.beta = c.beta;
  s.stride_a = c.m * c.k;
  s.stride_b = c.share_b ? 0 : c.k * c.n;
  s.stride_c = c.m * c.n;
  auto a = random_floats(c.batch * s.stride_a, 11), b = random_floats((c.share_b ? 1 : c.batch) * c.k * c.n, 12);
  auto c0 = random_floats(c.batch * s.stride_c, 13);
  Tensor da = upload(a), db = upload(b);
  Tensor dc = c.beta == 0.0f ? test::device_buffer<float>(c.batch * s.stride_c) : upload(c0);
  if (c.beta == 0.0f) poison(dc);  // beta = 0 must not read C: NaN there must not leak out
  cuda::gemm_f32(s, ptr<float>(da), ptr<float>(db), ptr<float>(dc), test::cuda_stream());
  std::vector<float> expected = c0;
  cpu::gemm_f32(s, a.data(), b.data(), expected.data());
  const std::string label = "gemm batch=" + std::to_string(c.batch) + " m=" + std::to_string(c.m) +
                            " n=" + std::to_string(c.n) + " k=" + std::to_string(c.k) + (trans_a ? " A^T" : "") +
                            (trans_b ? " B^T" : "") + (c.share_b ? " shared B" : "") +
                            " beta=" + std::to_string(c.beta);
  // 1e-5 also proves that TF32 (relative error ~1e-3) is not in use.
  expect_close(download<float>(dc, c.batch * s.stride_c), expected, 1e-5, label);
}

TEST(CudaGemm, MatchesCpuForEveryTransposeAndBatching) {
  HL_REQUIRE_CUDA();
  const GemmCase cases[] = {
      {1, 1, 1, 1, false, 1.0f, 0.0f},     {1, 7, 5, 3, false, 1.0f, 0.0f},   {1, 64, 64, 64, false, 1.0f, 0.0f},
      {1, 129, 65, 257, false, 0.5f, 0.0f}, {3, 3, 200, 1, false, 1.0f, 0.0f}, {4, 33, 17, 48, false, 1.0f, 0.25f},
      {5, 20, 30, 40, true, -1.5f, 0.0f},   {2, 256, 256, 512, false, 1.0f, 0.0f},
  };
  for (const GemmCase& c : cases)
    for (bool ta : {false, true})
      for (bool tb : {false, true}) check_gemm(c, ta, tb);
}

TEST(CudaGemm, EmptyInnerDimensionScalesC) {
  HL_REQUIRE_CUDA();
  check_gemm({2, 3, 4, 0, false, 1.0f, 0.0f}, false, false);  // C = 0 even though C held NaN
  check_gemm({2, 3, 4, 0, false, 1.0f, 2.0f}, true, false);   // C = 2 C
}

// --- casts ------------------------------------------------------------------------

TEST(CudaCast, SixteenBitToF32IsBitExactForEveryPattern) {
  HL_REQUIRE_CUDA();
  std::vector<uint16_t> all(65536);
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint16_t>(i);
  Tensor dx = upload(all), dy = test::device_buffer<float>(65536);
  std::vector<float> expected(65536);
  poison(dy);
  cuda::f16_to_f32(ptr<uint16_t>(dx), ptr<float>(dy), 65536, test::cuda_stream());
  cpu::f16_to_f32(all.data(), expected.data(), 65536);
  auto got = download<float>(dy, 65536);
  expect_same_bytes(got.data(), expected.data(), got.size() * 4, 4, "f16 -> f32");
  poison(dy);
  cuda::bf16_to_f32(ptr<uint16_t>(dx), ptr<float>(dy), 65536, test::cuda_stream());
  cpu::bf16_to_f32(all.data(), expected.data(), 65536);
  got = download<float>(dy, 65536);
  expect_same_bytes(got.data(), expected.data(), got.size() * 4, 4, "bf16 -> f32");
}

TEST(CudaCast, F32ToSixteenBitIsBitExactAtEveryRoundingBoundary) {
  HL_REQUIRE_CUDA();
  // For each pair of neighbouring f16 (and bf16) values: the midpoint (a tie) and the
  // floats just beside it, plus specials and random values over the whole f32 range.
  std::vector<float> x = {kNaN, -kNaN, kInf, -kInf, 0.0f, -0.0f, 65504.0f, 65519.0f, 65520.0f, 1e-8f, -1e-8f,
                          5.96e-8f, 2.98e-8f, 2.99e-8f, std::numeric_limits<float>::max(),
                          std::numeric_limits<float>::denorm_min()};
  for (uint32_t h = 0; h < 0x7c00; ++h) {
    const double lo = f16_bits_to_f32(static_cast<uint16_t>(h)), hi = f16_bits_to_f32(static_cast<uint16_t>(h + 1));
    const float mid = static_cast<float>((lo + hi) / 2);
    for (float v : {mid, std::nextafter(mid, -kInf), std::nextafter(mid, kInf)}) {
      x.push_back(v);
      x.push_back(-v);
    }
  }
  for (uint32_t h = 0; h < 0x7f80; h += 7) {
    const double lo = bf16_bits_to_f32(static_cast<uint16_t>(h)), hi = bf16_bits_to_f32(static_cast<uint16_t>(h + 1));
    const float mid = static_cast<float>((lo + hi) / 2);
    for (float v : {mid, std::nextafter(mid, -kInf), std::nextafter(mid, kInf)}) x.push_back(v);
  }
  std::mt19937 gen(17);
  for (int i = 0; i < 100000; ++i) {
    uint32_t bits = static_cast<uint32_t>(gen());
    x.push_back(f32_from_bits(bits));
  }
  const auto n = static_cast<int64_t>(x.size());
  Tensor dx = upload(x), dy = test::device_buffer<uint16_t>(n);
  std::vector<uint16_t> expected(x.size());
  poison(dy);
  cuda::f32_to_f16(ptr<float>(dx), ptr<uint16_t>(dy), n, test::cuda_stream());
  cpu::f32_to_f16(x.data(), expected.data(), n);
  auto got = download<uint16_t>(dy, n);
  expect_same_bytes(got.data(), expected.data(), got.size() * 2, 2, "f32 -> f16");
  poison(dy);
  cuda::f32_to_bf16(ptr<float>(dx), ptr<uint16_t>(dy), n, test::cuda_stream());
  cpu::f32_to_bf16(x.data(), expected.data(), n);
  got = download<uint16_t>(dy, n);
  expect_same_bytes(got.data(), expected.data(), got.size() * 2, 2, "f32 -> bf16");
}

TEST(CudaCast, IntegersToF32MatchCpu) {
  HL_REQUIRE_CUDA();
  std::vector<int32_t> i32 = {0, 1, -1, 16777216, 16777217, 16777219, -16777217, 2147483647, -2147483647 - 1};
  std::vector<int64_t> i64 = {0, -1, (int64_t{1} << 53) + 1, (int64_t{1} << 24) + 1, INT64_MAX, INT64_MIN, 123456789012345};
  std::vector<uint8_t> u8 = {0, 1, 127, 128, 255};
  std::mt19937_64 gen(3);
  for (int i = 0; i < 5000; ++i) {
    i32.push_back(static_cast<int32_t>(gen()));
    i64.push_back(static_cast<int64_t>(gen()));
    u8.push_back(static_cast<uint8_t>(gen()));
  }
  auto check = [](const auto& in, auto cuda_fn, auto cpu_fn, const char* what) {
    const auto n = static_cast<int64_t>(in.size());
    Tensor dx = upload(in), dy = test::device_buffer<float>(n);
    poison(dy);
    cuda_fn(dx.raw(), ptr<float>(dy), n);
    std::vector<float> expected(in.size());
    cpu_fn(in.data(), expected.data(), n);
    expect_same_floats(download<float>(dy, n), expected, what);
  };
  auto s = test::cuda_stream();
  check(i32, [&](const void* x, float* y, int64_t n) { cuda::i32_to_f32(static_cast<const int32_t*>(x), y, n, s); },
        [](const int32_t* x, float* y, int64_t n) { cpu::i32_to_f32(x, y, n); }, "i32 -> f32");
  check(i64, [&](const void* x, float* y, int64_t n) { cuda::i64_to_f32(static_cast<const int64_t*>(x), y, n, s); },
        [](const int64_t* x, float* y, int64_t n) { cpu::i64_to_f32(x, y, n); }, "i64 -> f32");
  check(u8, [&](const void* x, float* y, int64_t n) { cuda::u8_to_f32(static_cast<const uint8_t*>(x), y, n, s); },
        [](const uint8_t* x, float* y, int64_t n) { cpu::u8_to_f32(x, y, n); }, "u8 -> f32");
}

// --- random numbers ---------------------------------------------------------------

struct RandomCase {
  uint64_t seed, offset;
  int64_t n;
};
void PrintTo(const RandomCase& c, std::ostream* os) { *os << "seed=" << c.seed << " offset=" << c.offset << " n=" << c.n; }

class CudaRandom : public ::testing::TestWithParam<RandomCase> {};

// Offsets not divisible by 4 (resp. 2) start inside a Philox block, the case the
// one-block-per-thread kernels must get right.
TEST_P(CudaRandom, UniformIsBitIdenticalAndNormalAgreesToRounding) {
  HL_REQUIRE_CUDA();
  const auto [seed, offset, n] = GetParam();
  const std::string label =
      "seed=" + std::to_string(seed) + " offset=" + std::to_string(offset) + " n=" + std::to_string(n);
  Tensor dy = test::device_buffer<float>(n);
  std::vector<float> expected(static_cast<size_t>(n));

  poison(dy);
  cuda::uniform_f32(seed, offset, ptr<float>(dy), n, -2.0f, 3.0f, test::cuda_stream());
  cpu::uniform_f32(seed, offset, expected.data(), n, -2.0f, 3.0f);
  expect_same_floats(download<float>(dy, n), expected, "uniform " + label);

  poison(dy);
  cuda::normal_f32(seed, offset, ptr<float>(dy), n, 0.5f, 2.0f, test::cuda_stream());
  cpu::normal_f32(seed, offset, expected.data(), n, 0.5f, 2.0f);
  auto got = download<float>(dy, n);
  // CUDA's double log/cos may differ from glibc's in the last bit of double, which can
  // move the final f32 rounding by one ulp: allow that, but nothing systematic.
  expect_close(got, expected, 1e-6, "normal " + label);
  int64_t identical = 0;
  for (int64_t i = 0; i < n; ++i) identical += std::memcmp(&got[i], &expected[i], 4) == 0;
  EXPECT_GE(identical, n - n / 100 - 1) << "normal " << label << ": only " << identical << " of " << n
                                       << " bit-identical";
}

INSTANTIATE_TEST_SUITE_P(Streams, CudaRandom,
                         ::testing::Values(RandomCase{0, 0, 1}, RandomCase{42, 0, 4}, RandomCase{42, 1, 5},
                                           RandomCase{42, 3, 2}, RandomCase{7, 5, 1000},
                                           RandomCase{0xdeadbeefcafef00dULL, 1000003, 100003},
                                           RandomCase{1, (uint64_t{1} << 33) + 2, 4097}),
                         [](const auto& info) {
                           return "seed" + std::to_string(info.param.seed) + "_offset" +
                                  std::to_string(info.param.offset) + "_n" + std::to_string(info.param.n);
                         });

}  // namespace
}  // namespace hl
