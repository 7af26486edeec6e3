// MTCNN with its nets on a CnnBackend (nets/mtcnn_backend.h), here the CPU backend,
// against facenet-pytorch 2.6.0's own MTCNN (tests/golden/mtcnn_ref.py, the fixtures of
// test_mtcnn_golden.cpp): the same number of boxes after every stage, boxes and
// landmarks within 1 px, probabilities within 1e-4. This is the code path that
// `--device cuda` runs (the CUDA backend in place of the CPU one: the dense layers as
// convs, PReLU as two halves and a mixing conv, the padded R-/O-Net batches, the levels
// queued before reading back); tests/cuda/test_cuda_mtcnn.cpp compares the CUDA run
// with Mtcnn::detect on a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "nets/mtcnn.h"
#include "nets/mtcnn_backend.h"
#include "support/test_support.h"
#include "weights/mtcnn_map.h"

namespace hl {
namespace {

TEST(MtcnnOnCpuBackend, DetectionsMatchFacenetPytorch) {
  test::TempDir dir;
  ASSERT_EQ(test::run_golden_script("mtcnn_ref.py", {dir.path().string()}), 0)
      << "tests/golden/mtcnn_ref.py failed (facenet-pytorch and scikit-image in $HL_PYTHON's environment? "
         "tools/setup.sh installs them)";
  const nlohmann::json manifest = nlohmann::json::parse(test::read_file(dir.file("manifest.json")));
  const Mtcnn weights =
      Mtcnn::from_tensors(convert_mtcnn(read_mtcnn_state_dicts(manifest["data_dir"].get<std::string>())).tensors);
  const auto mtcnn = make_cpu_backend_mtcnn(weights);
  int64_t faces_seen = 0, images_without_faces = 0;
  double worst_box = 0, worst_prob = 0;
  for (const auto& img : manifest["images"]) {
    const std::string name = img["name"];
    const int64_t h = img["h"], w = img["w"];
    const std::vector<uint8_t> rgb = test::read_file(dir.file(img["file"]));
    ASSERT_EQ(static_cast<int64_t>(rgb.size()), h * w * 3) << name;
    MtcnnStageCounts counts;
    const std::vector<DetectedFace> faces = mtcnn->detect(rgb.data(), h, w, &counts);
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
      EXPECT_NEAR(f.probability, img["probs"][i].get<double>(), 1e-4) << name << " face " << i;
      worst_prob = std::max(worst_prob, std::abs(f.probability - img["probs"][i].get<double>()));
      for (int k = 0; k < 5; ++k) {
        EXPECT_NEAR(f.landmarks[k], img["landmarks"][i][k][0].get<double>(), 1.0) << name << " landmark " << k;
        EXPECT_NEAR(f.landmarks[5 + k], img["landmarks"][i][k][1].get<double>(), 1.0) << name << " landmark " << k;
      }
    }
    faces_seen += static_cast<int64_t>(faces.size());
    images_without_faces += faces.empty() ? 1 : 0;
  }
  EXPECT_GE(faces_seen, 5) << "the reference images should hold faces";
  std::printf("%lld faces (%lld images without): largest differences: box corner %.3g px, probability %.3g\n",
              static_cast<long long>(faces_seen), static_cast<long long>(images_without_faces), worst_box,
              worst_prob);
}

}  // namespace
}  // namespace hl
