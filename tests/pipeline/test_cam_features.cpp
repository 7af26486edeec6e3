// The arithmetic of the cam feature (pipeline/cam_features.h) on its own: the frame resize
// against TensorFlow 1's tf.image.resize_images (cam_fixtures/resize.json, written by
// make_cam_resize_fixture.py), and the clip plan and the per-frame interpolation points
// worked out by hand here. The whole feature against the ffmpeg command line is
// tests/tools/test_hl_extract_cam.cpp.
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "pipeline/cam_features.h"
#include "support/test_support.h"

namespace hl {
namespace {

TEST(CamFeatures, ResizeIsTensorFlowsLegacyBilinear) {
  std::ifstream f((test::source_dir() / "tests" / "pipeline" / "cam_fixtures" / "resize.json").string());
  ASSERT_TRUE(f.good());
  const nlohmann::json j = nlohmann::json::parse(f);
  ASSERT_GE(j["cases"].size(), 5u);
  for (const auto& c : j["cases"]) {
    const int64_t h = c["height"], w = c["width"], o = c["out"];
    std::vector<uint8_t> im(static_cast<size_t>(h * w * 3));
    for (uint64_t i = 0; i < im.size(); ++i)
      im[i] = static_cast<uint8_t>(static_cast<uint32_t>((i * 2654435761ull) & 0xffffffffull) >> 24);
    std::vector<float> got(static_cast<size_t>(o * o * 3));
    cam_resize_frame(im.data(), h, w, o, got.data());
    std::vector<float> want;
    for (double v : c["resized"]) want.push_back(static_cast<float>(-1.0 + 2.0 / 255.0 * v));  // normalize_ims
    ASSERT_EQ(got.size(), want.size());
    // The same f32 operations in the same order as TensorFlow's kernel; the scaling to
    // [-1, 1] rounds once more.
    for (size_t i = 0; i < got.size(); ++i)
      EXPECT_NEAR(got[i], want[i], 2e-6) << h << "x" << w << " -> " << o << " at " << i;
  }
}

TEST(CamFeatures, ClipsAreNonOverlappingWithOneAlignedToTheEnd) {
  EXPECT_EQ(cam_clip_starts(1), (std::vector<int64_t>{0}));
  EXPECT_EQ(cam_clip_starts(124), (std::vector<int64_t>{0}));
  EXPECT_EQ(cam_clip_starts(125), (std::vector<int64_t>{0}));
  EXPECT_EQ(cam_clip_starts(126), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(cam_clip_starts(250), (std::vector<int64_t>{0, 125}));
  EXPECT_EQ(cam_clip_starts(300), (std::vector<int64_t>{0, 125, 175}));
  EXPECT_NE(test::error_of([] { cam_clip_starts(0); }).find("no frames"), std::string::npos);
}

TEST(CamFeatures, ClipAudioStartsAtTheClipsFirstFrame) {
  // f0 frames at 30000/1001 fps = f0 * 1001 / 30000 s = f0 * 700.7 samples at 21 kHz.
  EXPECT_EQ(cam_clip_first_sample(0), 0);
  EXPECT_EQ(cam_clip_first_sample(1), 701);       // 700.7
  EXPECT_EQ(cam_clip_first_sample(125), 87588);   // 87587.5, half up
  EXPECT_EQ(cam_clip_first_sample(175), 122623);  // 122622.5
  EXPECT_EQ(cam_clip_first_sample(250), 175175);
}

TEST(CamFeatures, FeatureFramesInterpolateTheirClipsSteps) {
  // At 29.97 fps feature frame k is 29.97-fps frame k. 300 frames: clips 0, 125, 175.
  CamSamplePoint p = cam_sample_point(0, 30000, 1001, 300);
  EXPECT_EQ(p.clip, 0);
  EXPECT_EQ(p.left, 0);
  EXPECT_DOUBLE_EQ(p.weight_right, 0.0);
  p = cam_sample_point(40, 30000, 1001, 300);  // f = 16 * 40 / 125 = 5.12
  EXPECT_EQ(p.clip, 0);
  EXPECT_EQ(p.left, 5);
  EXPECT_EQ(p.right, 6);
  EXPECT_NEAR(p.weight_right, 0.12, 1e-12);
  p = cam_sample_point(124, 30000, 1001, 300);  // f = 15.872 -> clamped to 15
  EXPECT_EQ(p.left, 15);
  EXPECT_EQ(p.right, 15);
  EXPECT_DOUBLE_EQ(p.weight_right, 0.0);
  p = cam_sample_point(130, 30000, 1001, 300);  // clip 1, local 5: f = 0.64
  EXPECT_EQ(p.clip, 1);
  EXPECT_EQ(p.left, 0);
  EXPECT_NEAR(p.weight_right, 0.64, 1e-12);
  p = cam_sample_point(260, 30000, 1001, 300);  // past the regular clips: the end clip, local 85
  EXPECT_EQ(p.clip, 2);
  EXPECT_EQ(p.left, 10);  // 16 * 85 / 125 = 10.88
  EXPECT_NEAR(p.weight_right, 0.88, 1e-12);
  // 10 fps: frame 7 is at 0.7 s = 20.979 frames at 29.97 -> f = 16 * 20.979 / 125.
  p = cam_sample_point(7, 10, 1, 300);
  const double f = 16.0 * (0.7 * 30000.0 / 1001.0) / 125.0;
  EXPECT_EQ(p.left, 2);
  EXPECT_NEAR(p.weight_right, f - 2.0, 1e-12);
}

}  // namespace
}  // namespace hl
