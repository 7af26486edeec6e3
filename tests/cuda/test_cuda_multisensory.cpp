// MultisensoryCuda (nets/multisensory_cuda.h) against MultisensoryCpu (nets/multisensory.h,
// itself equal to TensorFlow within 1e-4 on these fixtures: tests/nets/test_multisensory_net.cpp)
// on whole clips: the width-reduced (1/32) checkpoint TensorFlow saved
// (tests/nets/multisensory_fixtures/cam_w32), converted by our converter, on the fixed
// 125-frame 64x64 clip with the full 87,588 samples, as the cam net (CAM [16, 4, 4]) and as
// the shift net (im/conv5_1 strided over space: [16, 2, 2]).
// Tolerances (DESIGN section 6, max|a - b| / max|b|): f32 1e-4 (whole network, another
// summation order than the CPU's through 20 layers), f16 1e-2 (f16 activations and weights).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/safetensors.h"
#include "nets/multisensory.h"
#include "nets/multisensory_cuda.h"
#include "support/test_support.h"
#include "weights/multisensory_map.h"
#include "weights/tf_checkpoint.h"

namespace hl {
namespace {

constexpr double kNetTolF32 = 1e-4, kTolF16 = 1e-2;

std::string fixture(const std::string& name) {
  return (test::source_dir() / "tests" / "nets" / "multisensory_fixtures" / name).string();
}

// The clip of tests/nets/test_multisensory_net.cpp (make_multisensory_golden.py's hash).
void make_clip(int64_t frames, int64_t h, int64_t w, int64_t n, std::vector<float>& images,
               std::vector<float>& samples) {
  images.resize(static_cast<size_t>(frames * h * w * 3));
  for (uint64_t i = 0; i < images.size(); ++i) {
    const uint32_t pixel = static_cast<uint32_t>((i * 2654435761ull) & 0xffffffffull) >> 24;
    images[i] = -1.0f + (2.0f / 255.0f) * static_cast<float>(pixel);
  }
  samples.resize(static_cast<size_t>(n * 2));
  for (uint64_t i = 0; i < samples.size(); ++i) {
    const uint32_t a = static_cast<uint32_t>((i * 2246822519ull) & 0xffffffffull) >> 16;
    samples[i] = static_cast<float>(a) / 32768.0f - 1.0f;
  }
}

std::string converted_weights(const test::TempDir& dir, MultisensoryNet which) {
  const ConvertResult r = convert_multisensory(TfCheckpoint::open(fixture("cam_w32")), which);
  const std::string path = dir.file("ms.safetensors");
  write_safetensors(path, r.tensors, r.metadata);
  return path;
}

void expect_cuda_equals_cpu(MultisensoryNet which) {
  test::TempDir dir;
  const std::string weights = converted_weights(dir, which);
  const MultisensoryCpu cpu = MultisensoryCpu::load(weights);
  std::vector<float> images, samples;
  const int64_t t = 125, h = 64, w = 64, n = 87588;
  make_clip(t, h, w, n, images, samples);
  const MultisensoryResult want = cpu.run(images.data(), t, h, w, samples.data(), n);
  for (const bool f16 : {false, true}) {
    SCOPED_TRACE(f16 ? "f16" : "f32");
    const MultisensoryCuda gpu = MultisensoryCuda::load(weights, {0, f16});
    EXPECT_EQ(gpu.cam_model(), cpu.cam_model());
    EXPECT_EQ(gpu.width_divisor(), 32);
    const MultisensoryResult r = gpu.run(images.data(), t, h, w, samples.data(), n);
    EXPECT_EQ((std::vector<int64_t>{r.steps, r.height, r.width}),
              (std::vector<int64_t>{want.steps, want.height, want.width}));
    const double tol = f16 ? kTolF16 : kNetTolF32;
    test::expect_close(r.cam, want.cam, tol, "cam");
    EXPECT_NEAR(r.logit, want.logit, tol * std::fabs(want.logit));
    // A second clip through the same object replays its cuDNN plans: the same numbers.
    const MultisensoryResult again = gpu.run(images.data(), t, h, w, samples.data(), n);
    EXPECT_EQ(again.cam, r.cam);
    EXPECT_EQ(again.logit, r.logit);
  }
}

TEST(CudaMultisensory, CamNetEqualsCpu) {
  HL_REQUIRE_CUDA();
  expect_cuda_equals_cpu(MultisensoryNet::Cam);
}

TEST(CudaMultisensory, ShiftNetEqualsCpu) {
  HL_REQUIRE_CUDA();
  expect_cuda_equals_cpu(MultisensoryNet::Shift);
}

// The CPU's checks and messages: mismatched clip lengths, a file that is not a Multisensory one.
TEST(CudaMultisensory, MismatchedClipAndWrongFileAreRefused) {
  HL_REQUIRE_CUDA();
  test::TempDir dir;
  const MultisensoryCuda net = MultisensoryCuda::load(converted_weights(dir, MultisensoryNet::Cam), {0, false});
  std::vector<float> images, samples;
  make_clip(40, 16, 16, 87588, images, samples);  // 40 frames: 10 video steps, 32 sound steps
  const std::string e = test::error_of([&] { net.run(images.data(), 40, 16, 16, samples.data(), 87588); });
  EXPECT_NE(e.find("video steps"), std::string::npos) << e;
  make_clip(125, 16, 16, 50000, images, samples);  // 50,000 samples: 49 sound steps
  const std::string e2 = test::error_of([&] { net.run(images.data(), 125, 16, 16, samples.data(), 50000); });
  EXPECT_NE(e2.find("49 sound steps"), std::string::npos) << e2;
  const std::string other = dir.file("other.safetensors");
  write_safetensors(other, {{"x", Tensor::from_vector(Shape({1}), {1.0f})}}, {{"hl.net", "mtcnn"}});
  const std::string e3 = test::error_of([&] { MultisensoryCuda::load(other); });
  EXPECT_NE(e3.find("other.safetensors"), std::string::npos) << e3;
}

}  // namespace
}  // namespace hl
