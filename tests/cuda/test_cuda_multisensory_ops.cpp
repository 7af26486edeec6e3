// The Multisensory network's CUDA ops (kernels/cuda/cudnn_conv3d.h,
// kernels/cuda/multisensory_ops.h) against the CPU functions that are their
// specification (kernels/cpu/conv3d.h, pool3d.h, fractional_pool.h; golden-tested
// against TensorFlow in tests/nets/test_multisensory_ops.cpp), on odd sizes, every
// device output poisoned with NaN first (an element a kernel forgets stays NaN and
// fails). Both precisions: f16 inputs are rounded to f16 on the host first, so that the
// CPU sees the very values the GPU does.
// Tolerances (DESIGN section 6, max|a - b| / max|b|): the convolution and the logits
// 1e-5 in f32 (cuDNN's and our sums in another order than the CPU's) and 1e-2 in f16
// (f16 weights and outputs); pooling, tiling and concatenation bit-exact (they only move
// values); mu-law and the mean 1e-6 in f32 (double-precision log1p and sums on both
// sides, one f32 rounding).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "cuda/cuda_test_util.h"
#include "kernels/common/half.h"
#include "kernels/cpu/conv3d.h"
#include "kernels/cpu/fractional_pool.h"
#include "kernels/cpu/pool3d.h"
#include "kernels/cuda/cudnn_conv3d.h"
#include "kernels/cuda/handles.h"
#include "kernels/cuda/multisensory_ops.h"
#include "support/test_support.h"

namespace hl {
namespace {

constexpr double kConvTolF32 = 1e-5, kTolF16 = 1e-2, kMathTolF32 = 1e-6;

// Activations of one precision: upload, download, NaN-poisoned outputs.
struct Precision {
  bool f16 = false;

  cuda::CnnDType kernel() const { return f16 ? cuda::CnnDType::F16 : cuda::CnnDType::F32; }
  const char* name() const { return f16 ? "f16" : "f32"; }
  // The values the device holds: rounded to f16 in f16 mode.
  std::vector<float> held(std::vector<float> v) const {
    if (f16)
      for (float& f : v) f = f16_bits_to_f32(f32_to_f16_bits(f));
    return v;
  }
  Tensor upload(const std::vector<float>& v) const {
    if (!f16) return test::upload(v);
    std::vector<uint16_t> h(v.size());
    for (size_t i = 0; i < v.size(); ++i) h[i] = f32_to_f16_bits(v[i]);
    return test::upload(h);
  }
  Tensor output(int64_t n) const {
    Tensor t = f16 ? test::device_buffer<uint16_t>(n) : test::device_buffer<float>(n);
    test::poison(t);
    return t;
  }
  std::vector<float> download(const Tensor& t, int64_t n) const {
    cuda_backend::synchronize(0);
    if (!f16) return test::download<float>(t, n);
    const std::vector<uint16_t> h = test::download<uint16_t>(t, n);
    std::vector<float> v(h.size());
    for (size_t i = 0; i < h.size(); ++i) v[i] = f16_bits_to_f32(h[i]);
    return v;
  }
};

const Precision kBoth[] = {Precision{false}, Precision{true}};

struct ConvCase {
  const char* what;
  cpu::Conv3dShape s;
  bool relu = false, residual = false, bn = false;
};

cpu::Conv3dShape shape(int64_t d, int64_t h, int64_t w, int64_t ci, int64_t co, int64_t kd, int64_t kh, int64_t kw,
                       int64_t sd, int64_t sh, int64_t sw) {
  cpu::Conv3dShape s;
  s.batch = 1, s.depth = d, s.height = h, s.width = w, s.c_in = ci, s.c_out = co;
  s.kd = kd, s.kh = kh, s.kw = kw, s.sd = sd, s.sh = sh, s.sw = sw;
  return s;
}

// The CPU conv, then the epilogue's terms computed here: ((conv + residual) * scale + shift), ReLU.
std::vector<float> reference(const ConvCase& c, const std::vector<float>& x, const std::vector<float>& w,
                             const std::vector<float>& bias, const std::vector<float>& res,
                             const std::vector<float>& scale, const std::vector<float>& shift) {
  const cpu::Conv3dShape& s = c.s;
  std::vector<float> y(static_cast<size_t>(s.pad_d().out * s.pad_h().out * s.pad_w().out * s.c_out));
  cpu::conv3d_ndhwc_f32(s, x.data(), w.data(), bias.data(), y.data());
  for (size_t i = 0; i < y.size(); ++i) {
    const size_t ch = i % static_cast<size_t>(s.c_out);
    float v = y[i];
    if (c.residual) v += res[i];
    if (c.bn) v = v * scale[ch] + shift[ch];
    if (c.relu || c.bn) v = std::max(v, 0.0f);
    y[i] = v;
  }
  return y;
}

TEST(CudaMultisensoryOps, Conv3dMatchesCpuWithTensorFlowPadding) {
  HL_REQUIRE_CUDA();
  const std::vector<ConvCase> cases = {
      // Odd SAME pads on every axis (the extra pad at the end), strides 2.
      {"k3x5x3 s2", shape(5, 9, 7, 3, 5, 3, 5, 3, 2, 2, 2)},
      // im/conv1's kernel and stride on odd sizes, ReLU.
      {"im.conv1-like k5x7x7 s2", shape(7, 11, 9, 3, 8, 5, 7, 7, 2, 2, 2), true},
      // sf/conv1_1: along time only, [B, N, 1, 2] with a [65, 1] kernel, stride 4 (odd pad 61).
      {"time conv k65 s4", shape(1, 203, 1, 2, 6, 1, 65, 1, 1, 4, 1), true},
      // A strided 1x1x1 shortcut: SAME pad clipped at 0.
      {"1x1x1 s[1,2,2]", shape(4, 8, 6, 6, 4, 1, 1, 1, 1, 2, 2)},
      // A block's second conv: + shortcut, BatchNorm, ReLU.
      {"k3 block end", shape(3, 5, 5, 7, 9, 3, 3, 3, 1, 1, 1), false, true, true},
  };
  for (const Precision& p : kBoth)
    for (const ConvCase& c : cases) {
      SCOPED_TRACE(std::string(c.what) + " " + p.name());
      const cpu::Conv3dShape& s = c.s;
      const int64_t taps = s.kd * s.kh * s.kw;
      const int64_t n_out = s.pad_d().out * s.pad_h().out * s.pad_w().out * s.c_out;
      const std::vector<float> x = p.held(test::random_floats(s.depth * s.height * s.width * s.c_in, 1));
      const std::vector<float> w = p.held(test::random_floats(taps * s.c_in * s.c_out, 2));  // [taps, ci, co]
      const std::vector<float> bias = test::random_floats(s.c_out, 3);
      const std::vector<float> res = p.held(test::random_floats(n_out, 4));
      const std::vector<float> scale = test::random_floats(s.c_out, 5, 0.5f, 1.5f);
      const std::vector<float> shift = test::random_floats(s.c_out, 6);
      std::vector<float> krsc(w.size());  // [co, taps, ci]
      for (int64_t t = 0; t < taps; ++t)
        for (int64_t i = 0; i < s.c_in; ++i)
          for (int64_t o = 0; o < s.c_out; ++o) krsc[(o * taps + t) * s.c_in + i] = w[(t * s.c_in + i) * s.c_out + o];

      Tensor dx = p.upload(x), dw = p.upload(krsc), dres = p.upload(res), dy = p.output(n_out);
      Tensor dbias = test::upload(bias), dscale = test::upload(scale), dshift = test::upload(shift);
      Tensor scratch;
      auto grow = [&](size_t bytes) {
        if (scratch.numel() < static_cast<int64_t>(bytes)) scratch = test::device_buffer<uint8_t>(bytes);
        return scratch.raw();
      };
      cuda::CudnnConv3d conv(p.f16 ? cuda::ConvPrecision::F16 : cuda::ConvPrecision::F32Exact, s, c.what);
      ASSERT_EQ(conv.output_elements(), n_out);
      cuda::CudnnConv3dArgs a;
      a.x = dx.raw(), a.w = dw.raw(), a.y = dy.raw(), a.bias = test::ptr<float>(dbias), a.relu = c.relu;
      if (c.residual) a.residual = dres.raw();
      if (c.bn) a.scale = test::ptr<float>(dscale), a.shift = test::ptr<float>(dshift);
      const cudaStream_t stream = test::cuda_stream();
      conv.run(cuda::cudnn_handle(stream), a, grow, stream);
      const std::vector<float> want = reference(c, x, w, bias, res, scale, shift);
      const std::vector<float> got = p.download(dy, n_out);
      test::expect_close(got, want, p.f16 ? kTolF16 : kConvTolF32, conv.describe());
      // A second run replays the chosen algorithm: the same result.
      test::poison(dy);
      conv.run(cuda::cudnn_handle(stream), a, grow, stream);
      test::expect_same_floats(p.download(dy, n_out), got, "second run");
    }
}

TEST(CudaMultisensoryOps, MaxPool3dMatchesCpu) {
  HL_REQUIRE_CUDA();
  const std::vector<cpu::Pool3dShape> shapes = {
      {1, 5, 9, 7, 3, 1, 3, 3, 1, 2, 2, true},    // the pool after im/conv1, odd sizes
      {1, 5, 9, 7, 4, 2, 3, 2, 2, 2, 3, true},    // odd SAME pads on every axis
      {1, 1, 23, 1, 5, 1, 4, 1, 1, 4, 1, false},  // the sound's VALID [4, 1] pool (23 -> 5)
      {1, 3, 7, 5, 6, 1, 1, 1, 2, 2, 2, true},    // a block's strided 1x1x1 shortcut
  };
  for (const Precision& p : kBoth)
    for (const cpu::Pool3dShape& s : shapes) {
      const int64_t n_in = s.depth * s.height * s.width * s.channels;
      const int64_t n_out = s.pad_d().out * s.pad_h().out * s.pad_w().out * s.channels;
      const std::vector<float> x = p.held(test::random_floats(n_in, 7));
      std::vector<float> want(static_cast<size_t>(n_out));
      cpu::maxpool3d_ndhwc_f32(s, x.data(), want.data());
      Tensor dx = p.upload(x), dy = p.output(n_out);
      cuda::maxpool3d_ndhwc(p.kernel(), s, dx.raw(), dy.raw(), test::cuda_stream());
      test::expect_same_floats(p.download(dy, n_out), want, std::string("maxpool3d ") + p.name());
    }
}

TEST(CudaMultisensoryOps, FractionalMaxPoolMatchesCpu) {
  HL_REQUIRE_CUDA();
  for (const Precision& p : kBoth)
    for (const int64_t rows : {86, 44}) {
      const std::vector<int64_t> b = cpu::multisensory_pool_boundaries(rows);
      const int64_t batch = 2, width = 3, channels = 7, n_out = static_cast<int64_t>(b.size()) - 1;
      const std::vector<float> x = p.held(test::random_floats(batch * rows * width * channels, 8));
      std::vector<float> want(static_cast<size_t>(batch * n_out * width * channels));
      cpu::fractional_maxpool_rows_f32(batch, rows, width, channels, b, x.data(), want.data());
      Tensor dx = p.upload(x), dy = p.output(static_cast<int64_t>(want.size()));
      cuda::fractional_maxpool_rows(p.kernel(), batch, rows, width, channels, b, dx.raw(), dy.raw(),
                                    test::cuda_stream());
      test::expect_same_floats(p.download(dy, static_cast<int64_t>(want.size())), want,
                               "fractional pool " + std::to_string(rows) + " " + p.name());
    }
  // Bad windows are refused before any launch.
  Tensor d = test::device_buffer<float>(16);
  const std::string e = test::error_of([&] {
    cuda::fractional_maxpool_rows(cuda::CnnDType::F32, 1, 4, 1, 1, {0, 2, 2, 4}, d.raw(), d.raw(), test::cuda_stream());
  });
  EXPECT_NE(e.find("increase"), std::string::npos) << e;
}

TEST(CudaMultisensoryOps, MuLawMatchesCpu) {
  HL_REQUIRE_CUDA();
  std::vector<float> x = test::random_floats(1001, 9, -1.2f, 1.2f);
  x[0] = 0.0f, x[1] = -0.0f, x[2] = 1.0f, x[3] = -1.0f, x[4] = 1e-7f;
  std::vector<float> want(x.size());
  cpu::mu_law_compand_f32(x.data(), want.data(), static_cast<int64_t>(x.size()));
  for (const Precision& p : kBoth) {
    Tensor dx = test::upload(x), dy = p.output(static_cast<int64_t>(x.size()));
    cuda::mu_law_compand(p.kernel(), test::ptr<float>(dx), dy.raw(), static_cast<int64_t>(x.size()),
                         test::cuda_stream());
    test::expect_close(p.download(dy, static_cast<int64_t>(x.size())), want, p.f16 ? kTolF16 : kMathTolF32,
                       std::string("mu-law ") + p.name());
  }
}

TEST(CudaMultisensoryOps, TileConcatBuildsMergeInputs) {
  HL_REQUIRE_CUDA();
  const int64_t steps = 3, per_step = 5, ci = 6, cs = 9, half = 4, positions = steps * per_step;
  for (const Precision& p : kBoth) {
    const std::vector<float> im = p.held(test::random_floats(positions * ci, 10));
    const std::vector<float> sound = p.held(test::random_floats(steps * cs, 11));
    // merge(): net[p] = [im[p], sound[step of p]], short[p] = first and last `half` channels of net[p].
    std::vector<float> net, short_cut;
    for (int64_t q = 0; q < positions; ++q) {
      std::vector<float> row(im.begin() + q * ci, im.begin() + (q + 1) * ci);
      row.insert(row.end(), sound.begin() + (q / per_step) * cs, sound.begin() + (q / per_step + 1) * cs);
      net.insert(net.end(), row.begin(), row.end());
      short_cut.insert(short_cut.end(), row.begin(), row.begin() + half);
      short_cut.insert(short_cut.end(), row.end() - half, row.end());
    }
    Tensor dim = p.upload(im), dsound = p.upload(sound);
    Tensor dnet = p.output(positions * (ci + cs)), dshort = p.output(positions * 2 * half);
    cuda::TileConcatArgs a;
    a.steps = steps, a.positions_per_step = per_step, a.c_im = ci, a.c_sound = cs, a.half = half;
    a.im = dim.raw(), a.sound = dsound.raw(), a.net = dnet.raw(), a.short_cut = dshort.raw();
    cuda::tile_concat(p.kernel(), a, test::cuda_stream());
    test::expect_same_floats(p.download(dnet, positions * (ci + cs)), net, std::string("net ") + p.name());
    test::expect_same_floats(p.download(dshort, positions * 2 * half), short_cut, std::string("short ") + p.name());
  }
}

TEST(CudaMultisensoryOps, LogitsAtEveryPositionAndMeanMatchCpu) {
  HL_REQUIRE_CUDA();
  const int64_t positions = 37, channels = 45;
  const std::vector<float> w = test::random_floats(channels, 13);
  const float bias = 0.375f;
  for (const Precision& p : kBoth) {
    const std::vector<float> x = p.held(test::random_floats(positions * channels, 12));
    // joint/logits at every position: the CPU's 1x1x1 conv with one output.
    cpu::Conv3dShape s = shape(1, positions, 1, channels, 1, 1, 1, 1, 1, 1, 1);
    std::vector<float> want(static_cast<size_t>(positions));
    cpu::conv3d_ndhwc_f32(s, x.data(), w.data(), &bias, want.data());
    std::vector<float> mean(static_cast<size_t>(channels));
    for (int64_t c = 0; c < channels; ++c) {
      double sum = 0.0;
      for (int64_t q = 0; q < positions; ++q) sum += x[q * channels + c];
      mean[c] = static_cast<float>(sum / positions);
    }
    Tensor dx = p.upload(x), dw = test::upload(w);
    Tensor dy = test::device_buffer<float>(positions), dm = test::device_buffer<float>(channels);
    test::poison(dy);
    test::poison(dm);
    cuda::pointwise_logits(p.kernel(), dx.raw(), test::ptr<float>(dw), bias, test::ptr<float>(dy), positions,
                           channels, test::cuda_stream());
    cuda::channel_mean(p.kernel(), dx.raw(), test::ptr<float>(dm), positions, channels, test::cuda_stream());
    cuda_backend::synchronize(0);
    // f32 sums of f32 products either way: the f32 bound in both precisions (the inputs are the same).
    test::expect_close(test::download<float>(dy, positions), want, kConvTolF32, std::string("logits ") + p.name());
    test::expect_close(test::download<float>(dm, channels), mean, kMathTolF32, std::string("mean ") + p.name());
  }
}

}  // namespace
}  // namespace hl
