// MTCNN on photographs of people against facenet-pytorch 2.6.0's own MTCNN
// (tests/golden/mtcnn_photos_ref.py): the insightface 2.1 wheel's group photograph t1.jpg
// (full size, half size, cut so faces lie on two edges), an aligned portrait that fills
// its image, and a photograph of masked faces that MTCNN does not find. For each: the
// same number of boxes after P-Net, R-Net and O-Net, boxes and landmarks within 1 px,
// IoU >= 0.99, probabilities within 1e-4 (tests/nets/test_mtcnn_golden.cpp does the same
// on scikit-image's photographs). The wheel is kept in .venv/wheels by tools/setup.sh;
// without it the test skips visibly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "nets/mtcnn.h"
#include "support/test_support.h"
#include "weights/mtcnn_map.h"

namespace hl {
namespace {

std::filesystem::path insightface_wheel() {
  return test::source_dir() / ".venv" / "wheels" / "insightface-2.1-py3-none-any.whl";
}

double iou(const float a[4], const std::vector<double>& b) {
  const double w = std::max(0.0, std::min<double>(a[2], b[2]) - std::max<double>(a[0], b[0]));
  const double h = std::max(0.0, std::min<double>(a[3], b[3]) - std::max<double>(a[1], b[1]));
  const double area_a = (a[2] - a[0]) * (a[3] - a[1]), area_b = (b[2] - b[0]) * (b[3] - b[1]);
  return w * h / (area_a + area_b - w * h);
}

TEST(MtcnnPhotos, GroupPhotographAndPortraitMatchFacenetPytorch) {
  if (!std::filesystem::exists(insightface_wheel()))
    GTEST_SKIP() << insightface_wheel() << " is missing (tools/setup.sh downloads it)";
  test::TempDir dir;
  ASSERT_EQ(test::run_golden_script("mtcnn_photos_ref.py", {dir.path().string(), insightface_wheel().string()}), 0)
      << "tests/golden/mtcnn_photos_ref.py failed (is facenet-pytorch installed in $HL_PYTHON's environment? "
         "tools/setup.sh installs it)";
  const auto manifest = nlohmann::json::parse(test::read_file(dir.file("manifest.json")));
  const Mtcnn mtcnn =
      Mtcnn::from_tensors(convert_mtcnn(read_mtcnn_state_dicts(manifest["data_dir"].get<std::string>())).tensors);
  int64_t faces_seen = 0, images_without = 0;
  double worst_box = 0, worst_prob = 0, worst_iou = 1;
  for (const auto& img : manifest["images"]) {
    const std::string name = img["name"];
    const int64_t h = img["h"], w = img["w"];
    const std::vector<uint8_t> rgb = test::read_file(dir.file(img["file"]));
    ASSERT_EQ(static_cast<int64_t>(rgb.size()), h * w * 3) << name;
    MtcnnStageCounts counts;
    const std::vector<DetectedFace> faces = mtcnn.detect(rgb.data(), h, w, &counts);
    EXPECT_EQ(counts.pnet, img["counts"]["pnet"].get<int64_t>()) << name << ": boxes after P-Net";
    EXPECT_EQ(counts.rnet, img["counts"]["rnet"].get<int64_t>()) << name << ": boxes after R-Net";
    ASSERT_EQ(faces.size(), img["boxes"].size()) << name << ": faces after O-Net";
    for (size_t i = 0; i < faces.size(); ++i) {
      const auto box = img["boxes"][i].get<std::vector<double>>();
      const DetectedFace& f = faces[i];
      const float got[4] = {f.x1, f.y1, f.x2, f.y2};
      for (int k = 0; k < 4; ++k) {
        EXPECT_NEAR(got[k], box[k], 1.0) << name << " face " << i << " corner " << k;
        worst_box = std::max(worst_box, std::abs(got[k] - box[k]));
      }
      EXPECT_GE(iou(got, box), 0.99) << name << " face " << i;
      worst_iou = std::min(worst_iou, iou(got, box));
      EXPECT_NEAR(f.probability, img["probs"][i].get<double>(), 1e-4) << name << " face " << i;
      worst_prob = std::max(worst_prob, std::abs(f.probability - img["probs"][i].get<double>()));
      for (int k = 0; k < 5; ++k) {
        EXPECT_NEAR(f.landmarks[k], img["landmarks"][i][k][0].get<double>(), 1.0) << name << " landmark " << k;
        EXPECT_NEAR(f.landmarks[5 + k], img["landmarks"][i][k][1].get<double>(), 1.0) << name << " landmark " << k;
      }
    }
    faces_seen += static_cast<int64_t>(faces.size());
    images_without += faces.empty() ? 1 : 0;
    std::printf("%s (%lldx%lld): %zu faces\n", name.c_str(), static_cast<long long>(w), static_cast<long long>(h),
                faces.size());
  }
  EXPECT_GE(faces_seen, 10) << "the group photograph holds many faces";
  EXPECT_GE(images_without, 1) << "and one image none";
  std::printf("%lld faces: largest box difference %.3g px, smallest IoU %.6f, largest probability difference %.3g\n",
              static_cast<long long>(faces_seen), worst_box, worst_iou, worst_prob);
}

}  // namespace
}  // namespace hl
