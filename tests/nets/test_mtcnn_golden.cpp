// MTCNN against facenet-pytorch 2.6.0's own MTCNN (tests/golden/mtcnn_ref.py): the
// publisher's weights (read from the installed package's data folder and converted by
// weights/mtcnn_map), photographs shipped by scikit-image (several sizes, faces cut by
// the frame's edges, images without faces) and frames of a generated video. For each:
// the same number of boxes after P-Net, after R-Net and after O-Net, boxes and
// landmarks within 1 px, probabilities within 1e-4. Also the `area` resampling against
// F.interpolate(mode='area') (bit for bit), the NMS variants and the faces feature's
// arithmetic on hand-made boxes, and the errors for wrong weight files.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "autograd/golden_io.h"
#include "engine/safetensors.h"
#include "nets/mtcnn.h"
#include "nets/mtcnn_boxes.h"
#include "support/test_support.h"
#include "weights/mtcnn_map.h"

namespace hl {
namespace {

class MtcnnGolden : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    ASSERT_EQ(test::run_golden_script("mtcnn_ref.py", {dir_->path().string()}), 0)
        << "tests/golden/mtcnn_ref.py failed (are facenet-pytorch and scikit-image installed in $HL_PYTHON's "
           "environment? tools/setup.sh installs them)";
    manifest_ = nlohmann::json::parse(test::read_file(dir_->file("manifest.json")));
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static Mtcnn net() {
    const MtcnnStateDicts sd = read_mtcnn_state_dicts(manifest_["data_dir"].get<std::string>());
    return Mtcnn::from_tensors(convert_mtcnn(sd).tensors);
  }
  static inline test::TempDir* dir_ = nullptr;
  static inline nlohmann::json manifest_;
};

TEST_F(MtcnnGolden, AreaResamplingMatchesTorchInterpolate) {
  for (const auto& c : manifest_["area"]) {
    const int64_t h = c["h"], w = c["w"], oh = c["out_h"], ow = c["out_w"];
    const std::vector<uint8_t> x = test::read_file(dir_->file(c["file_x"]));
    ASSERT_EQ(static_cast<int64_t>(x.size()), h * w * 3);
    const Tensor want = test::load_f32(*dir_, {{"file", c["file_y"]}, {"shape", {oh, ow, 3}}});
    std::vector<float> got(static_cast<size_t>(oh * ow * 3));
    mtcnn::area_resize_normalise(x.data(), w, 0, 0, h, w, oh, ow, got.data());
    // The same operations in the same order as PyTorch's kernel: equal bit for bit.
    const std::string what = std::to_string(h) + "x" + std::to_string(w) + " -> " + std::to_string(oh) + "x" +
                             std::to_string(ow);
    for (int64_t i = 0; i < oh * ow * 3; ++i)
      ASSERT_EQ(got[i], want.data<float>()[i]) << what << " element " << i;
  }
}

TEST_F(MtcnnGolden, DetectionsMatchFacenetPytorch) {
  const Mtcnn mtcnn = net();
  int64_t faces_seen = 0;
  double worst_box = 0, worst_prob = 0, worst_landmark = 0;
  for (const auto& img : manifest_["images"]) {
    const std::string name = img["name"];
    const int64_t h = img["h"], w = img["w"];
    const std::vector<uint8_t> rgb = test::read_file(dir_->file(img["file"]));
    ASSERT_EQ(static_cast<int64_t>(rgb.size()), h * w * 3) << name;
    MtcnnStageCounts counts;
    const std::vector<DetectedFace> faces = mtcnn.detect(rgb.data(), h, w, &counts);
    EXPECT_EQ(counts.pnet, img["counts"]["pnet"].get<int64_t>()) << name << ": boxes after P-Net";
    EXPECT_EQ(counts.rnet, img["counts"]["rnet"].get<int64_t>()) << name << ": boxes after R-Net";
    ASSERT_EQ(faces.size(), img["boxes"].size()) << name << ": faces after O-Net";
    for (size_t i = 0; i < faces.size(); ++i) {
      const auto& box = img["boxes"][i];
      const DetectedFace& f = faces[i];
      const float got[4] = {f.x1, f.y1, f.x2, f.y2};
      for (int k = 0; k < 4; ++k) {
        EXPECT_NEAR(got[k], box[k].get<double>(), 1.0) << name << " face " << i << " corner " << k;
        worst_box = std::max(worst_box, std::abs(got[k] - box[k].get<double>()));
      }
      worst_prob = std::max(worst_prob, std::abs(f.probability - img["probs"][i].get<double>()));
      EXPECT_NEAR(f.probability, img["probs"][i].get<double>(), 1e-4) << name << " face " << i;
      for (int k = 0; k < 5; ++k) {
        EXPECT_NEAR(f.landmarks[k], img["landmarks"][i][k][0].get<double>(), 1.0) << name << " landmark " << k;
        EXPECT_NEAR(f.landmarks[5 + k], img["landmarks"][i][k][1].get<double>(), 1.0) << name << " landmark " << k;
        worst_landmark = std::max({worst_landmark, std::abs(f.landmarks[k] - img["landmarks"][i][k][0].get<double>()),
                                   std::abs(f.landmarks[5 + k] - img["landmarks"][i][k][1].get<double>())});
      }
      std::printf("%s face %zu: box [%.2f %.2f %.2f %.2f] (ref [%.2f %.2f %.2f %.2f]) p %.6f (ref %.6f)\n",
                  name.c_str(), i, f.x1, f.y1, f.x2, f.y2, box[0].get<double>(), box[1].get<double>(),
                  box[2].get<double>(), box[3].get<double>(), f.probability, img["probs"][i].get<double>());
    }
    faces_seen += static_cast<int64_t>(faces.size());
  }
  EXPECT_GE(faces_seen, 5) << "the reference images should hold faces";
  std::printf("%lld faces: largest differences: box corner %.3g px, probability %.3g, landmark %.3g px\n",
              static_cast<long long>(faces_seen), worst_box, worst_prob, worst_landmark);
}

TEST_F(MtcnnGolden, WrongWeightFilesAreClearErrors) {
  const NamedTensors good = convert_mtcnn(read_mtcnn_state_dicts(manifest_["data_dir"].get<std::string>())).tensors;
  NamedTensors missing(good.begin() + 1, good.end());  // without pnet.conv1.weight
  EXPECT_NE(test::error_of([&] { Mtcnn::from_tensors(missing); }).find("pnet.conv1.weight is missing"),
            std::string::npos);
  NamedTensors extra = good;
  extra.emplace_back("onet.dense7.weight", Tensor::zeros({2, 2}, DType::F32));
  EXPECT_NE(test::error_of([&] { Mtcnn::from_tensors(extra); }).find("unexpected tensor onet.dense7.weight"),
            std::string::npos);
  // Another network's weight file, named in the error.
  const std::string other = dir_->file("other.safetensors");
  write_safetensors(other, {{"fc.weight", Tensor::zeros({2, 2}, DType::F32)}}, {{"hl.net", "googlenet"}});
  const std::string message = test::error_of([&] { Mtcnn::load(other); });
  EXPECT_NE(message.find(other), std::string::npos) << message;
  // And the good tensors through a file, as hl-extract loads them.
  const std::string file = dir_->file("mtcnn.safetensors");
  write_safetensors(file, good, {{"hl.net", "mtcnn"}});
  EXPECT_NO_THROW(Mtcnn::load(file));
}

TEST(MtcnnFacesFeature, AreaOfTheMostConfidentFaceClippedToTheFrame) {
  EXPECT_EQ(most_confident_face_area({}, 100, 200), 0.0f);
  DetectedFace a, b;
  a.x1 = 10, a.y1 = 20, a.x2 = 30, a.y2 = 60, a.probability = 0.9f;      // 20 x 40
  b.x1 = -10, b.y1 = 90, b.x2 = 50, b.y2 = 130, b.probability = 0.95f;   // clipped: 50 x 10
  EXPECT_FLOAT_EQ(most_confident_face_area({a}, 100, 200), 800.0f / 20000.0f);
  EXPECT_FLOAT_EQ(most_confident_face_area({a, b}, 100, 200), 500.0f / 20000.0f);
}

TEST(MtcnnBoxes, NmsVariantsFollowTheirDefinitions) {
  // Two boxes 10x10 overlapping by 5x10: IoU = 50 / 150 = 1/3; with +1 sizes the 'Min'
  // overlap is (6 * 11) / (11 * 11) = 6/11.
  mtcnn::Box a, b;
  a.x1 = 0, a.y1 = 0, a.x2 = 10, a.y2 = 10, a.score = 0.8f;
  b.x1 = 5, b.y1 = 0, b.x2 = 15, b.y2 = 10, b.score = 0.9f;
  EXPECT_EQ(mtcnn::nms_iou({a, b}, 0.3f), (std::vector<int64_t>{1}));
  EXPECT_EQ(mtcnn::nms_iou({a, b}, 0.34f), (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(mtcnn::nms_min({a, b}, 0.5f), (std::vector<int64_t>{1}));
  EXPECT_EQ(mtcnn::nms_min({a, b}, 0.55f), (std::vector<int64_t>{1, 0}));
}

}  // namespace
}  // namespace hl
