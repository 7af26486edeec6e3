// Feature extraction on CUDA against the CPU, end to end from decoded input (the GPU
// machine has no FFmpeg, so the input is already decoded):
//   - the visual features: pipeline/visual_features.h's VisualFeatureExtractor loading
//     googlenet.safetensors and places365-resnet50.safetensors (random weights in the
//     converted layout, tests/cuda/random_cnn_weights.h) from a weights folder, fed the
//     same u8 frames of any size, on the CPU (f32) and on CUDA (preprocessing on the
//     device, networks in f16) — what hl-extract --device cuda runs;
//   - the MFCC (nets/mfcc.h) of the same audio on the CPU and on CUDA (cuFFT), with the
//     step hl-extract uses for the clip's frame rate (nets/mfcc.h mfcc_params_for)
//     and 4 rows per frame, from host and from device samples.
// Input: the decoded clip folder named by HL_TEST_DECODED_CLIP (format in
// tests/cuda/decoded_clip.h; tools/make-decoded-clip.sh makes one from an encoded testsrc2
// clip with the ffmpeg command line), else a generated 97x71 clip of 1.5 s (45 frames:
// three network batches of 16, 16 and 13) with a moving pattern and a harmonic sound.
//
// Tolerances, max|a-b| / max|b| over the whole [frames, dim] matrix (DESIGN section 6):
//   - visual, 1e-2: the f16 tolerance of the CUDA CNN backend on whole networks
//     (tests/cuda/test_cuda_cnn.cpp kTolF16, docs/cuda-cnn.md "f16 ≤ 1e-2 relative on
//     embedding and logits"); the device preprocessing adds nothing, being bit-exact
//     against the CPU's (tests/cuda/test_cuda_resize.cpp);
//   - mfcc, 1e-5: the cuFFT MFCC against the CPU kernel (tests/cuda/test_cuda_mfcc.cpp
//     kTol: f32 ops, FFT and summation order only).
// The whole-network test is in a suite named CudaCnnNets, like test_cuda_cnn's whole
// networks, so that tools/gpu-check.sh's memcheck pass (--gtest_filter=-CudaCnnNets.*)
// leaves it out too: cuDNN's algorithm search under memcheck takes minutes.
// Without a GPU the CUDA tests skip visibly (HL_REQUIRE_CUDA). Not yet run on a GPU
// (docs/gpu-status.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "cuda/decoded_clip.h"
#include "cuda/random_cnn_weights.h"
#include "engine/tensor.h"
#include "nets/features.h"
#include "nets/mfcc.h"
#include "nets/segments.h"
#include "pipeline/extract.h"
#include "pipeline/visual_features.h"
#include "support/test_support.h"

namespace hl {
namespace {

constexpr double kVisualTolF16 = 1e-2;  // test_cuda_cnn.cpp kTolF16
constexpr double kMfccTol = 1e-5;       // test_cuda_mfcc.cpp kTol

// The clip under test, read once: HL_TEST_DECODED_CLIP's folder or the generated one.
const test::DecodedClip& clip() {
  static const test::DecodedClip c = [] {
    const char* dir = std::getenv("HL_TEST_DECODED_CLIP");
    if (dir && *dir) {
      test::DecodedClip read = test::read_decoded_clip(dir);  // a bad folder fails the test, loudly
      std::printf("input: decoded clip %s\n", dir);
      return read;
    }
    std::printf("input: generated clip (set HL_TEST_DECODED_CLIP to use a decoded one)\n");
    return test::generated_clip(97, 71, 1.5);
  }();
  std::printf("clip: %lld frames of %lldx%lld at %lld/%lld fps, %zu samples at %lld Hz\n",
              static_cast<long long>(c.frames), static_cast<long long>(c.width), static_cast<long long>(c.height),
              static_cast<long long>(c.fps_num), static_cast<long long>(c.fps_den), c.audio.size(),
              static_cast<long long>(c.sample_rate));
  return c;
}

// Frame t of the clip as the u8 [H, W, 3] CPU tensor a decoder hands the extractor.
Tensor frame_tensor(const test::DecodedClip& c, int64_t t) {
  Tensor f = Tensor::empty({c.height, c.width, 3}, DType::U8);
  const size_t bytes = static_cast<size_t>(c.height * c.width * 3);
  std::memcpy(f.data<uint8_t>(), c.rgb.data() + static_cast<size_t>(t) * bytes, bytes);
  return f;
}

// The visual features of the clip's first `frames` frames (all by default) on `device`.
std::map<Feature, Tensor> extract_visual(const test::DecodedClip& c, const std::string& weights_dir, Device device,
                                         int64_t frames = -1) {
  const int64_t count = frames < 0 ? c.frames : std::min(frames, c.frames);
  VisualFeatureOptions o;
  o.weights_dir = weights_dir;
  o.device = device;
  o.batch = 16;
  VisualFeatureExtractor x({Feature::GoogLeNet, Feature::Places365}, o);
  int64_t next = 0;
  return x.run([&](Tensor* rgb) {
    if (next == count) return false;
    *rgb = frame_tensor(c, next++);
    return true;
  });
}

// The clip's audio in the amplitude scale of 16-bit PCM, as the pipeline hands it to the
// MFCC (engine/media mfcc_signal): f32 [samples] on the CPU.
Tensor mfcc_samples(const test::DecodedClip& c) {
  std::vector<float> scaled(c.audio.size());
  std::transform(c.audio.begin(), c.audio.end(), scaled.begin(), [](float v) { return v * 32768.0f; });
  return Tensor::from_vector({static_cast<int64_t>(scaled.size())}, scaled);
}

// The largest |row t - row 0| relative to the largest |value|: the features follow the
// moving picture (a comparison of constant rows would test less).
double frame_variation(const Tensor& features) {
  const int64_t rows = features.shape()[0], dim = features.shape()[1];
  const float* p = features.data<float>();
  double peak = 0, change = 0;
  for (int64_t t = 0; t < rows; ++t)
    for (int64_t k = 0; k < dim; ++k) {
      peak = std::max(peak, std::fabs(double{p[t * dim + k]}));
      change = std::max(change, std::fabs(double{p[t * dim + k]} - double{p[k]}));
    }
  return peak > 0 ? change / peak : 0.0;
}

// The weights folder: random GoogLeNet (BatchNorm unfolded) and Places365 ResNet50
// (folded) saved as hl-convert names and tags them.
struct WeightsFolder {
  test::TempDir dir;
  WeightsFolder() {
    test::write_cnn_weight_file(dir.file("googlenet.safetensors"), "googlenet", test::random_googlenet_weights(false),
                                1000);
    test::write_cnn_weight_file(dir.file("places365-resnet50.safetensors"), "resnet50",
                                test::random_resnet50_weights(true), 365);
  }
  std::string path() const { return dir.path().string(); }
};

// What the CUDA comparison needs of the CPU side, checked without a GPU (so that a skip
// of the CUDA tests still says the input and the reference are sound): one row per frame
// of each visual feature, finite, following the moving picture; MFCC rows finite and
// changing. The networks see only the first few frames here (the CPU f32 networks take
// seconds per frame on a small development machine; the CUDA test runs them all).
TEST(CudaExtractInput, CpuFeaturesOfTheClipAreSound) {
  const test::DecodedClip& c = clip();
  WeightsFolder weights;
  const int64_t frames = std::min<int64_t>(c.frames, 4);
  const std::map<Feature, Tensor> cpu = extract_visual(c, weights.path(), Device::cpu(), frames);
  ASSERT_EQ(cpu.size(), 2u);
  for (const auto& [feature, f] : cpu) {
    const std::string name = feature_spec(feature).name;
    ASSERT_EQ(f.shape(), (Shape{frames, feature_spec(feature).frame_shape.at(0)})) << name;
    for (int64_t i = 0; i < f.numel(); ++i) ASSERT_TRUE(std::isfinite(f.data<float>()[i])) << name << " [" << i << "]";
    const double variation = frame_variation(f);
    EXPECT_GT(variation, 1e-3) << name << ": the features do not change over the clip";
    std::printf("%s: frame-to-frame variation %.3g of the largest value\n", name.c_str(), variation);
  }
  const Tensor m =
      mfcc(mfcc_samples(c), mfcc_rows_for_frames(c.frames), mfcc_params_for(FrameRate{c.fps_num, c.fps_den}));
  ASSERT_EQ(m.shape(), (Shape{mfcc_rows_for_frames(c.frames), 13}));
  for (int64_t i = 0; i < m.numel(); ++i) ASSERT_TRUE(std::isfinite(m.data<float>()[i])) << "mfcc [" << i << "]";
  EXPECT_GT(frame_variation(m), 1e-2) << "the mfcc rows do not change over the clip";
}

// Suite name: see the header comment (kept out of gpu-check.sh's memcheck pass).
TEST(CudaCnnNets, ExtractedVisualFeaturesMatchCpu) {
  HL_REQUIRE_CUDA();
  const test::DecodedClip& c = clip();
  WeightsFolder weights;
  const std::map<Feature, Tensor> cpu = extract_visual(c, weights.path(), Device::cpu());
  const std::map<Feature, Tensor> cuda = extract_visual(c, weights.path(), Device::cuda(0));
  ASSERT_EQ(cpu.size(), 2u);
  ASSERT_EQ(cuda.size(), cpu.size());
  for (const auto& [feature, expected] : cpu) {
    const std::string name = feature_spec(feature).name;
    ASSERT_TRUE(cuda.count(feature)) << name;
    const Tensor& got = cuda.at(feature);
    ASSERT_EQ(expected.shape(), (Shape{c.frames, feature_spec(feature).frame_shape.at(0)})) << name;
    ASSERT_EQ(got.shape(), expected.shape()) << name;
    ASSERT_TRUE(got.device().is_cpu()) << name;
    test::expect_close(got.data<float>(), expected.data<float>(), expected.numel(), kVisualTolF16, name + " f16 cuda");
    std::printf("%s: %lld frames, relative error %.3g (tolerance %.0e)\n", name.c_str(),
                static_cast<long long>(c.frames),
                test::relative_error(got.data<float>(), expected.data<float>(), expected.numel()), kVisualTolF16);
  }
}

TEST(CudaExtractMfcc, MfccOfTheClipMatchesCpu) {
  HL_REQUIRE_CUDA();
  const test::DecodedClip& c = clip();
  const Tensor samples = mfcc_samples(c);
  const MfccParams p = mfcc_params_for(FrameRate{c.fps_num, c.fps_den});
  const int64_t rows = mfcc_rows_for_frames(c.frames);
  const Tensor expected = mfcc(samples, rows, p);
  ASSERT_EQ(expected.shape(), (Shape{rows, 13}));
  for (const Device from : {Device::cpu(), Device::cuda(0)}) {
    const std::string what = std::string("mfcc from ") + (from.is_cpu() ? "host" : "device") + " samples";
    const Tensor on_device = mfcc(samples.to(from), rows, p, Device::cuda(0));
    ASSERT_EQ(on_device.shape(), expected.shape()) << what;
    ASSERT_FALSE(on_device.device().is_cpu()) << what;
    const Tensor got = on_device.to(Device::cpu());
    test::expect_close(got.data<float>(), expected.data<float>(), expected.numel(), kMfccTol, what);
    std::printf("%s: %lld rows, relative error %.3g (tolerance %.0e)\n", what.c_str(), static_cast<long long>(rows),
                test::relative_error(got.data<float>(), expected.data<float>(), expected.numel()), kMfccTol);
  }
}

}  // namespace
}  // namespace hl
