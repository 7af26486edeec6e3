// The CUDA backend of the inference CNNs (nets/cnn_backend_cuda.h) against the CPU
// backend (nets/cnn_backend_cpu.cpp, the specification), in both precisions:
//   - each op on fresh random inputs, every device output poisoned with NaN first (an
//     element the backend forgets to write stays NaN and fails), including the channels
//     of a concatenation that a conv into a slice must leave alone;
//   - whole GoogLeNet (BatchNorm unfolded: the backend folds it) and ResNet50 (folded)
//     with random weights on two 224x224 images, and a second pass that allocates nothing
//     and repeats the outputs bit for bit.
// Tolerances (DESIGN section 6, max|a - b| / max|b|): f32 ops 1e-5 (pooling and the
// affine map bit-exact: same operations in the same order), f32 whole networks 1e-4,
// f16 1e-2. Without a GPU the CUDA tests skip visibly; the random-weight fixture is
// checked on the CPU so that a skip here still says the fixture itself is sound.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "cuda/cuda_test_util.h"
#include "cuda/random_cnn_weights.h"
#include "engine/cuda_backend.h"
#include "nets/cnn_backend.h"
#include "nets/cnn_backend_cuda.h"
#include "nets/googlenet.h"
#include "nets/resnet50.h"
#include "support/test_support.h"
#include "weights/googlenet_map.h"
#include "weights/resnet50_map.h"

namespace hl {
namespace {

constexpr double kOpTolF32 = 1e-5, kNetTolF32 = 1e-4, kTolF16 = 1e-2;

double tolerance(bool f16, double f32_tol) { return f16 ? kTolF16 : f32_tol; }
const char* precision(bool f16) { return f16 ? "f16" : "f32"; }

Tensor random_cpu(const Shape& shape, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  return Tensor::from_vector(shape, test::random_floats(shape.numel(), seed, lo, hi));
}

// A device activation of the backend filled with NaN.
Tensor poisoned(CnnBackend& b, const Shape& shape) {
  Tensor t(b.allocate(static_cast<size_t>(shape.numel()) * dtype_size(b.activation_dtype())), 0, shape,
           b.activation_dtype());
  test::poison(t);
  return t;
}

Tensor upload(CnnBackend& b, const Tensor& x) {
  Tensor t = poisoned(b, x.shape());
  b.upload(x, t);
  return t;
}

std::vector<float> values(const Tensor& cpu) {
  return std::vector<float>(cpu.data<float>(), cpu.data<float>() + cpu.numel());
}

// x rounded to f16 and back: what an f16 backend holds after upload.
Tensor f16_rounded(const Tensor& x) { return x.cast(DType::F16).cast(DType::F32); }

void expect_close(const Tensor& actual, const Tensor& expected, double tol, const std::string& what) {
  ASSERT_EQ(actual.shape(), expected.shape()) << what;
  test::expect_close(actual.data<float>(), expected.data<float>(), expected.numel(), tol, what);
}

std::unique_ptr<CnnBackend> cuda_backend_for(bool f16) { return make_cuda_cnn_backend({0, f16}); }

TEST(CudaCnnOps, UploadDownloadAndChannelAffine) {
  HL_REQUIRE_CUDA();
  const Tensor x = random_cpu({2, 5, 7, 3}, 1, -2.0f, 2.0f);
  const std::vector<float> scale = {0.458f, 0.448f, 0.45f}, shift = {-0.03f, -0.088f, -0.188f};
  auto cpu = make_cpu_cnn_backend();
  Tensor expected = x.clone();
  cpu->channel_affine(expected, expected, scale, shift);
  for (const bool f16 : {false, true}) {
    SCOPED_TRACE(precision(f16));
    auto b = cuda_backend_for(f16);
    Tensor a = upload(*b, x);
    const Tensor back = b->download(a);
    if (f16)
      test::expect_same_floats(values(back), values(f16_rounded(x)), "upload/download f16");
    else
      test::expect_same_floats(values(back), values(x), "upload/download f32");
    b->channel_affine(a, a, scale, shift);  // in place, as GoogLeNet's transform_input
    const Tensor y = b->download(a);
    if (f16)
      expect_close(y, expected, kTolF16, "channel_affine f16");
    else
      test::expect_same_floats(values(y), values(expected), "channel_affine f32");
  }
}

TEST(CudaCnnOps, MaxPoolMatchesCpuExactly) {
  HL_REQUIRE_CUDA();
  struct Case {
    MaxPoolSpec pool;
    Shape x;
  };
  const std::vector<Case> cases = {
      {{3, 2, 0, true}, {2, 15, 15, 8}},   // GoogLeNet's stem pools: ceil adds a clipped window
      {{3, 2, 0, true}, {1, 14, 14, 5}},   // ceil on an even size
      {{3, 1, 1, true}, {2, 7, 7, 12}},    // Inception branch 4
      {{2, 2, 0, true}, {2, 13, 13, 16}},  // maxpool4 (2x2, ceil: the last window is 1 wide)
      {{3, 2, 1, false}, {2, 16, 16, 8}},  // ResNet50's stem pool
  };
  auto cpu = make_cpu_cnn_backend();
  uint32_t seed = 10;
  for (const Case& c : cases) {
    const std::string what = "maxpool k" + std::to_string(c.pool.kernel) + " s" + std::to_string(c.pool.stride) +
                             " p" + std::to_string(c.pool.pad) + (c.pool.ceil_mode ? " ceil " : " ") + c.x.str();
    const Tensor x = random_cpu(c.x, ++seed);
    const Shape out = maxpool_output_shape(c.pool, c.x, what);
    for (const bool f16 : {false, true}) {
      // The max of f16 values is one of them: the CPU on the rounded input is exact.
      const Tensor input = f16 ? f16_rounded(x) : x;
      Tensor expected = Tensor::empty(out, DType::F32);
      cpu->maxpool2d(c.pool, input, expected);
      auto b = cuda_backend_for(f16);
      Tensor y = poisoned(*b, out);
      b->maxpool2d(c.pool, upload(*b, x), y);
      test::expect_same_floats(values(b->download(y)), values(expected), what + " " + precision(f16));
    }
  }
}

TEST(CudaCnnOps, GlobalAvgPoolAndLinear) {
  HL_REQUIRE_CUDA();
  const Tensor x = random_cpu({3, 7, 7, 64}, 20);
  LinearLayer fc;
  fc.name = "fc";
  fc.weight = random_cpu({64, 10}, 21, -0.2f, 0.2f);
  fc.bias = random_cpu({10}, 22);
  auto cpu = make_cpu_cnn_backend();
  for (const bool f16 : {false, true}) {
    SCOPED_TRACE(precision(f16));
    const Tensor input = f16 ? f16_rounded(x) : x;
    Tensor pooled = Tensor::empty({3, 64}, DType::F32), logits = Tensor::empty({3, 10}, DType::F32);
    cpu->global_avgpool(input, pooled);
    cpu->linear(*cpu->prepare(fc), pooled, logits);

    auto b = cuda_backend_for(f16);
    Tensor p = poisoned(*b, {3, 64}), l = poisoned(*b, {3, 10});
    b->global_avgpool(upload(*b, x), p);
    b->linear(*b->prepare(fc), p, l);
    if (f16) {
      expect_close(b->download(p), pooled, kTolF16, "global_avgpool f16");
    } else {
      // Same sums in the same order.
      test::expect_same_floats(values(b->download(p)), values(pooled), "global_avgpool f32");
    }
    expect_close(b->download(l), logits, tolerance(f16, kOpTolF32), std::string("linear ") + precision(f16));
  }
}

// A conv layer with random weights and BatchNorm in the given form.
ConvLayer random_conv(const std::string& name, int64_t c_in, int64_t c_out, int64_t k, int64_t stride, int64_t pad,
                      bool folded, bool relu, uint32_t seed) {
  ConvLayer l;
  l.name = name;
  l.c_in = c_in, l.c_out = c_out, l.kernel = k, l.stride = stride, l.pad = pad, l.relu = relu;
  const float a = std::sqrt(6.0f / static_cast<float>(k * k * c_in));
  l.weight = random_cpu({k, k, c_in, c_out}, seed, -a, a);
  if (folded) {
    l.bias = random_cpu({c_out}, seed + 1, -0.2f, 0.2f);
  } else {
    l.bn_weight = random_cpu({c_out}, seed + 1, 0.5f, 1.5f);
    l.bn_bias = random_cpu({c_out}, seed + 2, -0.2f, 0.2f);
    l.bn_mean = random_cpu({c_out}, seed + 3, -0.2f, 0.2f);
    l.bn_var = random_cpu({c_out}, seed + 4, 0.5f, 1.5f);
    l.bn_eps = 1e-3f;
  }
  return l;
}

TEST(CudaCnnOps, Conv2dEveryEpilogueAndSlice) {
  HL_REQUIRE_CUDA();
  struct Case {
    ConvLayer layer;
    Shape x;
    int64_t y_channels, offset;  // y [N, OH, OW, y_channels], written at channel offset
    bool residual;
  };
  const std::vector<Case> cases = {
      {random_conv("stem 7x7/2", 3, 16, 7, 2, 3, false, true, 100), {2, 23, 23, 3}, 16, 0, false},
      {random_conv("1x1 folded", 32, 24, 1, 1, 0, true, true, 110), {2, 9, 9, 32}, 24, 0, false},
      {random_conv("3x3 into a slice", 16, 32, 3, 1, 1, false, true, 120), {2, 8, 8, 16}, 80, 40, false},
      // Offset 4: 8 bytes into f16 rows, not 16-byte aligned (the packed path).
      {random_conv("1x1 into an odd slice", 16, 12, 1, 1, 0, true, true, 130), {2, 6, 6, 16}, 20, 4, false},
      {random_conv("3x3/2", 16, 16, 3, 2, 1, true, true, 140), {2, 11, 11, 16}, 16, 0, false},
      {random_conv("downsample 1x1/2", 16, 32, 1, 2, 0, false, false, 150), {2, 10, 10, 16}, 32, 0, false},
      {random_conv("bottleneck end + residual", 16, 64, 1, 1, 0, true, true, 160), {2, 7, 7, 16}, 64, 0, true},
      {random_conv("no ReLU + residual", 8, 16, 3, 1, 1, false, false, 170), {1, 5, 5, 8}, 16, 0, true},
  };
  auto cpu = make_cpu_cnn_backend();
  uint32_t seed = 1000;
  for (const Case& c : cases) {
    const ConvLayer& l = c.layer;
    const Shape out = conv_output_shape(l, c.x);
    const Shape y_shape{out[0], out[1], out[2], c.y_channels};
    const Tensor x = random_cpu(c.x, ++seed);
    const Tensor residual = random_cpu(out, ++seed);
    for (const bool f16 : {false, true}) {
      const std::string what = l.name + " " + precision(f16);
      const Tensor x_in = f16 ? f16_rounded(x) : x, r_in = f16 ? f16_rounded(residual) : residual;
      Tensor expected = Tensor::empty(y_shape, DType::F32);
      std::memset(expected.raw(), 0xFF, expected.nbytes());
      cpu->conv2d(*cpu->prepare(l), x_in, expected, c.offset, c.residual ? &r_in : nullptr);

      auto b = cuda_backend_for(f16);
      const auto prepared = b->prepare(l);
      const Tensor xd = upload(*b, x), rd = upload(*b, residual);
      Tensor y = poisoned(*b, y_shape);
      b->conv2d(*prepared, xd, y, c.offset, c.residual ? &rd : nullptr);
      const Tensor got = b->download(y);
      // The slice against the CPU; every channel outside it still NaN.
      std::vector<float> slice_got, slice_expected;
      int64_t outside_written = 0;
      for (int64_t r = 0; r < out[0] * out[1] * out[2]; ++r)
        for (int64_t ch = 0; ch < c.y_channels; ++ch) {
          const int64_t i = r * c.y_channels + ch;
          if (ch >= c.offset && ch < c.offset + l.c_out) {
            slice_got.push_back(got.data<float>()[i]);
            slice_expected.push_back(expected.data<float>()[i]);
          } else {
            outside_written += !std::isnan(got.data<float>()[i]);
          }
        }
      test::expect_close(slice_got, slice_expected, tolerance(f16, kOpTolF32), what);
      EXPECT_EQ(outside_written, 0) << what << ": wrote outside its channel slice";
      // The same layer again replays the chosen plan.
      Tensor again = poisoned(*b, y_shape);
      b->conv2d(*prepared, xd, again, c.offset, c.residual ? &rd : nullptr);
      const Tensor got_again = b->download(again);
      EXPECT_EQ(std::memcmp(got_again.raw(), got.raw(), got.nbytes()), 0) << what << ": the replay differs";
    }
  }
}

TEST(CudaCnnOps, WrongTensorsAreErrors) {
  HL_REQUIRE_CUDA();
  auto b = cuda_backend_for(true);
  const auto prepared = b->prepare(random_conv("conv", 4, 8, 3, 1, 1, true, true, 7));
  const Tensor host = random_cpu({1, 5, 5, 4}, 8);
  Tensor y = poisoned(*b, {1, 5, 5, 8});
  EXPECT_NE(test::error_of([&] { b->conv2d(*prepared, host, y); }).find("conv input must be a F16 tensor on cuda:0"),
            std::string::npos);
  const Tensor x = upload(*b, host);
  Tensor narrow = poisoned(*b, {1, 5, 5, 6});
  EXPECT_NE(test::error_of([&] { b->conv2d(*prepared, x, narrow); }).find("cannot hold"), std::string::npos);
  EXPECT_NE(test::error_of([&] { b->channel_affine(x, narrow, {1}, {0}); }).find("channel_affine"), std::string::npos);
}

// Random weights with our names and layouts: the fixture shared with test_cuda_extract
// (cuda/random_cnn_weights.h).
test::NamedTensors googlenet_weights(bool folded) { return test::random_googlenet_weights(folded); }
test::NamedTensors resnet50_weights(bool folded) { return test::random_resnet50_weights(folded); }

// The fixture must give a well-conditioned net (finite, neither vanishing nor huge
// logits) for the CUDA comparisons to mean something; checked on the CPU, with no GPU.
TEST(CudaCnnNets, RandomWeightFixtureIsSoundOnCpu) {
  const Tensor x = random_cpu({1, 96, 96, 3}, 3, -2.0f, 2.0f);
  const auto check = [](const CnnOutput& out, const std::string& what) {
    float peak = 0.0f;
    for (int64_t i = 0; i < out.logits.numel(); ++i) {
      ASSERT_TRUE(std::isfinite(out.logits.data<float>()[i])) << what;
      peak = std::max(peak, std::fabs(out.logits.data<float>()[i]));
    }
    EXPECT_GT(peak, 1e-2f) << what;
    EXPECT_LT(peak, 1e3f) << what;
    std::printf("%s: largest |logit| %.3g\n", what.c_str(), peak);
  };
  check(GoogLeNet::from_tensors(googlenet_weights(false)).forward(x), "googlenet unfolded");
  check(ResNet50::from_tensors(resnet50_weights(true)).forward(x), "resnet50 folded");
}

template <typename Net>
void compare_net(const std::vector<std::pair<std::string, Tensor>>& weights, const std::string& what) {
  const Tensor x = random_cpu({2, 224, 224, 3}, 42, -2.0f, 2.0f);
  const CnnOutput expected = Net::from_tensors(weights).forward(x);
  for (const bool f16 : {false, true}) {
    const std::string name = what + " " + precision(f16);
    Net net = Net::from_tensors(weights, cuda_backend_for(f16));
    const CnnOutput got = net.forward(x);
    const double tol = tolerance(f16, kNetTolF32);
    expect_close(got.embedding, expected.embedding, tol, name + " embedding");
    expect_close(got.logits, expected.logits, tol, name + " logits");
    std::printf("%s: embedding %.3g, logits %.3g relative error\n", name.c_str(),
                test::relative_error(got.embedding.data<float>(), expected.embedding.data<float>(),
                                     expected.embedding.numel()),
                test::relative_error(got.logits.data<float>(), expected.logits.data<float>(), expected.logits.numel()));

    // The planned pass again: no new activation buffer, no cudaMalloc, the same outputs.
    const int64_t allocations = net.activations().allocations();
    const size_t mallocs = cuda_backend::arena_stats(0).cuda_malloc_calls;
    const CnnOutput again = net.forward(x);
    EXPECT_EQ(net.activations().allocations(), allocations) << name;
    EXPECT_EQ(cuda_backend::arena_stats(0).cuda_malloc_calls, mallocs) << name;
    EXPECT_EQ(std::memcmp(again.logits.raw(), got.logits.raw(), got.logits.nbytes()), 0) << name;
    EXPECT_EQ(std::memcmp(again.embedding.raw(), got.embedding.raw(), got.embedding.nbytes()), 0) << name;
  }
}

TEST(CudaCnnNets, GoogLeNetMatchesCpu) {
  HL_REQUIRE_CUDA();
  compare_net<GoogLeNet>(googlenet_weights(false), "googlenet");
}

TEST(CudaCnnNets, ResNet50MatchesCpu) {
  HL_REQUIRE_CUDA();
  compare_net<ResNet50>(resnet50_weights(true), "resnet50");
}

// A batch preprocessed on the device (hl-extract --device cuda) gives what the same
// batch from host memory gives, bit for bit.
TEST(CudaCnnNets, DeviceInputEqualsHostInput) {
  HL_REQUIRE_CUDA();
  const Tensor x = random_cpu({2, 224, 224, 3}, 7, -2.0f, 2.0f);
  for (const bool f16 : {false, true}) {
    GoogLeNet net = GoogLeNet::from_tensors(googlenet_weights(true), cuda_backend_for(f16));
    const CnnOutput host = net.forward(x);
    const CnnOutput device = net.forward(x.to(Device::cuda(0)));
    EXPECT_EQ(std::memcmp(host.embedding.raw(), device.embedding.raw(), host.embedding.nbytes()), 0) << precision(f16);
    EXPECT_EQ(std::memcmp(host.logits.raw(), device.logits.raw(), host.logits.nbytes()), 0) << precision(f16);
  }
}

TEST(CudaCnnNets, WithoutADeviceTheBackendSaysSo) {
  if (cuda_available()) GTEST_SKIP() << "a CUDA device is visible";
  const std::string message = test::error_of([] { make_cuda_cnn_backend({}); });
  EXPECT_TRUE(message.find("no CUDA device is visible") != std::string::npos ||
              message.find("built without CUDA") != std::string::npos)
      << message;
}

}  // namespace
}  // namespace hl
