// fer's face crop (nets/fer_crop.h) against opencv-python-headless and fer 22.5.1's own
// crop lines (tests/golden/fer_crop_ref.py): cv2.cvtColor RGB2GRAY and cv2.resize
// INTER_LINEAR on random images of many sizes (2x down, up, one-pixel, odd ratios, other
// output sizes), and whole crops for random and corner-case boxes (outside the image,
// negative corners, exact 64 and 128 px crops, a padding value halfway between two
// integers). Every u8 equal, bit for bit.
#include <gtest/gtest.h>

#include <cstdio>

#include <nlohmann/json.hpp>

#include "nets/fer_crop.h"
#include "support/test_support.h"

namespace hl {
namespace {

class FerCropGolden : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    ASSERT_EQ(test::run_golden_script("fer_crop_ref.py", {dir_->path().string()}), 0)
        << "tests/golden/fer_crop_ref.py failed (is opencv-python-headless installed in $HL_PYTHON's environment? "
           "tools/setup.sh installs tests/golden/requirements.txt)";
    manifest_ = nlohmann::json::parse(test::read_file(dir_->file("manifest.json")));
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::vector<uint8_t> bytes(const nlohmann::json& name, size_t size) {
    std::vector<uint8_t> b = test::read_file(dir_->file(name.get<std::string>()));
    EXPECT_EQ(b.size(), size) << name;
    return b;
  }
  // Index and count of the differing elements, for the message.
  static std::string differences(const std::vector<uint8_t>& got, const std::vector<uint8_t>& want) {
    if (got.size() != want.size()) return "sizes " + std::to_string(got.size()) + " vs " + std::to_string(want.size());
    int64_t n = 0, first = -1;
    for (size_t i = 0; i < got.size(); ++i)
      if (got[i] != want[i] && n++ == 0) first = static_cast<int64_t>(i);
    if (n == 0) return "";
    return std::to_string(n) + " differ, first at " + std::to_string(first) + ": " + std::to_string(got[first]) +
           " vs " + std::to_string(want[first]);
  }
  static inline test::TempDir* dir_ = nullptr;
  static inline nlohmann::json manifest_;
};

TEST_F(FerCropGolden, GreyEqualsCvtColor) {
  ASSERT_GE(manifest_["grey"].size(), 5u);
  for (const auto& c : manifest_["grey"]) {
    const int64_t h = c["h"], w = c["w"];
    const auto rgb = bytes(c["file"], static_cast<size_t>(h * w * 3));
    const auto want = bytes(c["expected"], static_cast<size_t>(h * w));
    EXPECT_EQ(differences(opencv_rgb_to_grey(rgb.data(), h, w), want), "") << h << "x" << w;
  }
}

TEST_F(FerCropGolden, ResizeEqualsCvResizeLinear) {
  ASSERT_GE(manifest_["resize"].size(), 50u);
  for (const auto& c : manifest_["resize"]) {
    const int64_t h = c["h"], w = c["w"], oh = c["out_h"], ow = c["out_w"];
    const auto src = bytes(c["file"], static_cast<size_t>(h * w));
    const auto want = bytes(c["expected"], static_cast<size_t>(oh * ow));
    EXPECT_EQ(differences(opencv_resize_linear(src.data(), h, w, w, oh, ow), want), "")
        << h << "x" << w << " -> " << oh << "x" << ow;
  }
}

TEST_F(FerCropGolden, CropEqualsFer) {
  int64_t crops = 0, empty = 0;
  ASSERT_GE(manifest_["crops"].size(), 100u);
  for (const auto& c : manifest_["crops"]) {
    const int64_t h = c["h"], w = c["w"];
    const auto rgb = bytes(c["file"], static_cast<size_t>(h * w * 3));
    const auto b = c["box"].get<std::vector<float>>();
    const std::string what = std::to_string(h) + "x" + std::to_string(w) + " box " + c["box"].dump();
    const FerCropRect r = fer_crop_rect(b[0], b[1], b[2], b[3], h, w);
    if (c["rect"].is_null()) {
      EXPECT_TRUE(r.empty()) << what;
    } else {
      EXPECT_EQ((std::vector<int64_t>{r.y0, r.y1, r.x0, r.x1}), c["rect"].get<std::vector<int64_t>>()) << what;
    }
    const std::vector<uint8_t> got = fer_face_crop(rgb.data(), h, w, b[0], b[1], b[2], b[3]);
    if (c["expected"].is_null()) {
      EXPECT_TRUE(got.empty()) << what << ": fer skips this face";
      ++empty;
      continue;
    }
    EXPECT_EQ(differences(got, bytes(c["expected"], 64 * 64)), "") << what;
    ++crops;
  }
  EXPECT_GE(empty, 1);
  std::printf("%lld crops equal fer's, %lld empty as fer's\n", static_cast<long long>(crops),
              static_cast<long long>(empty));
}

// Hand-worked: 2x2 -> 1x1 is OpenCV's INTER_AREA fast path, (10 + 20 + 30 + 41 + 2) >> 2
// = 25; 1x2 -> 1x4 upscales with fx = (d + 0.5) * 0.5 - 0.5: at d = 1 fx = 0.25, weights
// 1536 / 512: 100 * 1536 + 200 * 512 = 256000, the rows' weights are (2048, 0):
// ((2048 * (256000 >> 4)) >> 16 + 0 + 2) >> 2 = (500 + 2) >> 2 = 125; the ends are clamped.
TEST(FerCrop, HandWorkedResizes) {
  const uint8_t square[4] = {10, 20, 30, 41};
  EXPECT_EQ(opencv_resize_linear(square, 2, 2, 2, 1, 1), std::vector<uint8_t>{25});
  const uint8_t row[2] = {100, 200};
  EXPECT_EQ(opencv_resize_linear(row, 1, 2, 2, 1, 4), (std::vector<uint8_t>{100, 125, 175, 200}));
  EXPECT_NE(test::error_of([&] { opencv_resize_linear(row, 1, 2, 2, 0, 4); }).find("empty size"), std::string::npos);
}

TEST(FerCrop, InsaneBoxIsAnError) {
  EXPECT_NE(test::error_of([] { fer_crop_rect(std::nanf(""), 0, 10, 10, 20, 20); }).find("not a sane number"),
            std::string::npos);
}

}  // namespace
}  // namespace hl
