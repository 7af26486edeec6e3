// The Multisensory CAM network on the CPU (nets/multisensory.h) against TensorFlow: the
// width-reduced (1/32) checkpoint saved by TensorFlow (tests/nets/multisensory_fixtures/
// cam_w32), converted by our reader and converter, run on a fixed 125-frame 64x64 clip
// with the full 87,588 samples; TensorFlow's CAM [16, 4, 4] and logit for the same graph
// on the unfolded variables are in golden_w32.json, and for shift_v1's graph (im/conv5_1
// strided over space) in golden_w32_shift.json (tests/nets/make_multisensory_golden.py).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <thread>
#include <nlohmann/json.hpp>

#include "engine/safetensors.h"
#include "kernels/cpu/parallel.h"
#include "nets/multisensory.h"
#include "support/test_support.h"
#include "weights/multisensory_map.h"
#include "weights/tf_checkpoint.h"

namespace hl {
namespace {

std::string fixture(const std::string& name) {
  return (test::source_dir() / "tests" / "nets" / "multisensory_fixtures" / name).string();
}

// The clip of make_multisensory_golden.py, from the same integer hash (exact in f32).
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

void expect_tensorflow_outputs(MultisensoryNet which, const std::string& golden) {
  std::ifstream f(fixture(golden));
  const nlohmann::json g = nlohmann::json::parse(f);
  test::TempDir dir;
  const MultisensoryCpu net = MultisensoryCpu::load(converted_weights(dir, which));
  EXPECT_EQ(net.cam_model(), which == MultisensoryNet::Cam);
  EXPECT_EQ(net.width_divisor(), 32);
  std::vector<float> images, samples;
  const int64_t t = g["frames"], h = g["height"], w = g["width"], n = g["samples"];
  make_clip(t, h, w, n, images, samples);
  const MultisensoryResult r = net.run(images.data(), t, h, w, samples.data(), n);
  EXPECT_EQ((std::vector<int64_t>{r.steps, r.height, r.width}), g["cam_shape"].get<std::vector<int64_t>>());
  // f32 in another summation order than TensorFlow's through 20 layers (BatchNorm folded
  // here, applied by TensorFlow): the bound for f32, 1e-4 relative.
  test::expect_close(r.cam, g["cam"].get<std::vector<float>>(), 1e-4, "cam");
  const double want = g["logit"];
  EXPECT_NEAR(r.logit, want, 1e-4 * std::fabs(want));
}

TEST(MultisensoryNet, CamAndLogitMatchTensorFlow) { expect_tensorflow_outputs(MultisensoryNet::Cam, "golden_w32.json"); }

// shift_v1: im/conv5_1 strided over space, so the CAM is [16, 2, 2] here.
TEST(MultisensoryNet, ShiftNetMatchesTensorFlow) {
  expect_tensorflow_outputs(MultisensoryNet::Shift, "golden_w32_shift.json");
}

// The full-width network at 224x224 (16 x 14 x 14 CAM), against a reference too large to
// commit: HL_MULTISENSORY_FULL=DIR names a folder where make_multisensory_fixtures.py and
// make_multisensory_golden.py wrote cam_w1.* and golden_w1_224.json (see their headers).
TEST(MultisensoryNet, FullSizeMatchesTensorFlowWhenItsReferenceIsGiven) {
  const char* dir_env = std::getenv("HL_MULTISENSORY_FULL");
  if (!dir_env) GTEST_SKIP() << "set HL_MULTISENSORY_FULL to a folder with cam_w1.* and golden_w1_224.json";
  const std::string full = dir_env;
  std::ifstream f(full + "/golden_w1_224.json");
  ASSERT_TRUE(f.good()) << full << "/golden_w1_224.json";
  const nlohmann::json g = nlohmann::json::parse(f);
  test::TempDir dir;
  const ConvertResult c = convert_multisensory(TfCheckpoint::open(full + "/cam_w1"), MultisensoryNet::Cam);
  write_safetensors(dir.file("ms.safetensors"), c.tensors, c.metadata);
  const MultisensoryCpu net = MultisensoryCpu::load(dir.file("ms.safetensors"));
  std::vector<float> images, samples;
  const int64_t t = g["frames"], h = g["height"], w = g["width"], n = g["samples"];
  make_clip(t, h, w, n, images, samples);
  const MultisensoryResult r = net.run(images.data(), t, h, w, samples.data(), n);
  EXPECT_EQ((std::vector<int64_t>{r.steps, r.height, r.width}), (std::vector<int64_t>{16, 14, 14}));
  test::expect_close(r.cam, g["cam"].get<std::vector<float>>(), 1e-4, "cam (full size)");
  const double want = g["logit"];
  EXPECT_NEAR(r.logit, want, 1e-4 * std::fabs(want));
}

bool same_bits(const MultisensoryResult& a, const MultisensoryResult& b) {
  return a.steps == b.steps && a.height == b.height && a.width == b.width && a.cam.size() == b.cam.size() &&
         std::memcmp(a.cam.data(), b.cam.data(), a.cam.size() * sizeof(float)) == 0 &&
         std::memcmp(&a.logit, &b.logit, sizeof(float)) == 0;
}

struct Clip {
  int64_t frames, size, samples;
  std::vector<float> images, audio;
  explicit Clip(int64_t f, int64_t s, int64_t n) : frames(f), size(s), samples(n) { make_clip(f, s, s, n, images, audio); }
  MultisensoryResult run(const MultisensoryCpu& net) const {
    return net.run(images.data(), frames, size, size, audio.data(), samples);
  }
};

// run() keeps its activation buffers between calls: after a bigger clip and a shorter one
// (63 frames with 44,144 samples) the same clip gives the bits a freshly loaded net gives,
// and run_into reuses the result's storage.
TEST(MultisensoryNet, ReusedBuffersGiveTheBitsOfAFreshNet) {
  test::TempDir dir;
  const std::string weights = converted_weights(dir, MultisensoryNet::Cam);
  const Clip clip(125, 64, 87588), bigger(125, 96, 87588), shorter(63, 32, 44144);
  const MultisensoryResult fresh = clip.run(MultisensoryCpu::load(weights));
  const MultisensoryCpu net = MultisensoryCpu::load(weights);
  EXPECT_TRUE(same_bits(clip.run(net), fresh));
  bigger.run(net);
  EXPECT_TRUE(same_bits(clip.run(net), fresh));
  const MultisensoryResult s = shorter.run(net);
  EXPECT_EQ((std::vector<int64_t>{s.steps, s.height, s.width}), (std::vector<int64_t>{8, 2, 2}));  // 63 / 8
  EXPECT_TRUE(same_bits(clip.run(net), fresh));
  MultisensoryResult out;
  net.run_into(clip.images.data(), 125, 64, 64, clip.audio.data(), 87588, out);
  const float* storage = out.cam.data();
  net.run_into(clip.images.data(), 125, 64, 64, clip.audio.data(), 87588, out);
  EXPECT_EQ(out.cam.data(), storage);
  EXPECT_TRUE(same_bits(out, fresh));
}

// Two threads calling run() on one net at once (each takes buffers of its own) get one
// thread's results, for two different clips interleaved. On one engine thread bit for
// bit. On two, a call's parallel_for runs serially while the other call is in one
// (kernels/cpu/parallel.h), and the convolutions' bits depend on how many threads split
// them (the Winograd chunks, hence OpenBLAS's products, are sized by the thread count:
// ~1e-7 relative), so there the bound is 1e-5 relative.
void expect_concurrent_runs_match(int engine_threads) {
  const int before = cpu::num_threads();
  cpu::set_num_threads(engine_threads);
  test::TempDir dir;
  const MultisensoryCpu net = MultisensoryCpu::load(converted_weights(dir, MultisensoryNet::Cam));
  const Clip a(125, 64, 87588), b(125, 48, 87588);
  const MultisensoryResult want_a = a.run(net), want_b = b.run(net);
  std::atomic<int> wrong{0};
  auto check = [&](const MultisensoryResult& got, const MultisensoryResult& want) {
    if (engine_threads == 1) return same_bits(got, want);
    if (got.cam.size() != want.cam.size()) return false;
    float scale = 0.0f, worst = 0.0f;  // relative to the map's largest value: cancellation
    for (size_t i = 0; i < got.cam.size(); ++i) {
      scale = std::max(scale, std::fabs(want.cam[i]));
      worst = std::max(worst, std::fabs(got.cam[i] - want.cam[i]));
    }
    if (worst > 1e-5f * scale) ADD_FAILURE() << "cam differs by " << worst << " of " << scale;
    return worst <= 1e-5f * scale && std::fabs(got.logit - want.logit) <= 1e-5f * std::fabs(want.logit);
  };
  auto worker = [&](const Clip& first, const Clip& second, const MultisensoryResult& want_first,
                    const MultisensoryResult& want_second) {
    for (int i = 0; i < 3; ++i) {
      if (!check(first.run(net), want_first)) ++wrong;
      if (!check(second.run(net), want_second)) ++wrong;
    }
  };
  std::thread t1(worker, std::cref(a), std::cref(b), std::cref(want_a), std::cref(want_b));
  std::thread t2(worker, std::cref(b), std::cref(a), std::cref(want_b), std::cref(want_a));
  t1.join();
  t2.join();
  cpu::set_num_threads(before);
  EXPECT_EQ(wrong.load(), 0) << engine_threads << " engine threads";
}

TEST(MultisensoryNet, ConcurrentRunsGiveOneThreadsBits) { expect_concurrent_runs_match(1); }
TEST(MultisensoryNet, ConcurrentRunsOnTwoEngineThreadsAgree) { expect_concurrent_runs_match(2); }

TEST(MultisensoryNet, MismatchedClipAndWrongFileAreRefused) {
  test::TempDir dir;
  const MultisensoryCpu net = MultisensoryCpu::load(converted_weights(dir, MultisensoryNet::Cam));
  std::vector<float> images, samples;
  make_clip(40, 16, 16, 87588, images, samples);  // 40 frames: 10 video steps, 32 sound steps
  const std::string e = test::error_of([&] { net.run(images.data(), 40, 16, 16, samples.data(), 87588); });
  EXPECT_NE(e.find("video steps"), std::string::npos) << e;
  make_clip(125, 16, 16, 50000, images, samples);  // 50,000 samples: 49 sound steps
  const std::string e2 = test::error_of([&] { net.run(images.data(), 125, 16, 16, samples.data(), 50000); });
  EXPECT_NE(e2.find("49 sound steps"), std::string::npos) << e2;
  const std::string other = dir.file("other.safetensors");
  write_safetensors(other, {{"x", Tensor::from_vector(Shape({1}), {1.0f})}}, {{"hl.net", "mtcnn"}});
  const std::string e3 = test::error_of([&] { MultisensoryCpu::load(other); });
  EXPECT_NE(e3.find("other.safetensors"), std::string::npos) << e3;
}

}  // namespace
}  // namespace hl
