// MTCNN with its nets on the CUDA backend (nets/mtcnn_backend.h, make_cuda_mtcnn)
// against the CPU detector Mtcnn::detect (golden-tested against facenet-pytorch in
// tests/nets/test_mtcnn_golden.cpp), on the photographs and generated video frames of
// tests/golden/mtcnn_ref.py with facenet-pytorch's published weights:
//   f32: the same number of boxes after every stage, boxes and landmarks within 1 px,
//        probabilities within 1e-5;
//   f16: the same faces, boxes within 1 px, probabilities within 1e-3.
// Also: a second pass over the same image repeats the detections exactly (plans and
// buffers reused). Needs a GPU (label gpu; skips visibly without one).
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

void compare(bool f16) {
  test::TempDir dir;
  ASSERT_EQ(test::run_golden_script("mtcnn_ref.py", {dir.path().string()}), 0)
      << "tests/golden/mtcnn_ref.py failed (facenet-pytorch and scikit-image in $HL_PYTHON's environment?)";
  const nlohmann::json manifest = nlohmann::json::parse(test::read_file(dir.file("manifest.json")));
  const Mtcnn cpu =
      Mtcnn::from_tensors(convert_mtcnn(read_mtcnn_state_dicts(manifest["data_dir"].get<std::string>())).tensors);
  MtcnnCudaOptions options;
  options.f16 = f16;
  const auto cuda = make_cuda_mtcnn(cpu, options);
  const double prob_tol = f16 ? 1e-3 : 1e-5;
  int64_t faces_seen = 0;
  double worst_box = 0, worst_prob = 0;
  for (const auto& img : manifest["images"]) {
    const std::string name = img["name"];
    const int64_t h = img["h"], w = img["w"];
    const std::vector<uint8_t> rgb = test::read_file(dir.file(img["file"]));
    MtcnnStageCounts want_counts, got_counts;
    const std::vector<DetectedFace> want = cpu.detect(rgb.data(), h, w, &want_counts);
    const std::vector<DetectedFace> got = cuda->detect(rgb.data(), h, w, &got_counts);
    if (!f16) {
      EXPECT_EQ(got_counts.pnet, want_counts.pnet) << name << ": boxes after P-Net";
      EXPECT_EQ(got_counts.rnet, want_counts.rnet) << name << ": boxes after R-Net";
    }
    ASSERT_EQ(got.size(), want.size()) << name << ": faces";
    for (size_t i = 0; i < got.size(); ++i) {
      const float g[4] = {got[i].x1, got[i].y1, got[i].x2, got[i].y2};
      const float e[4] = {want[i].x1, want[i].y1, want[i].x2, want[i].y2};
      for (int k = 0; k < 4; ++k) {
        EXPECT_NEAR(g[k], e[k], 1.0) << name << " face " << i << " corner " << k;
        worst_box = std::max(worst_box, static_cast<double>(std::abs(g[k] - e[k])));
      }
      for (int k = 0; k < 10; ++k) EXPECT_NEAR(got[i].landmarks[k], want[i].landmarks[k], 1.0) << name;
      EXPECT_NEAR(got[i].probability, want[i].probability, prob_tol) << name << " face " << i;
      worst_prob = std::max(worst_prob, static_cast<double>(std::abs(got[i].probability - want[i].probability)));
    }
    faces_seen += static_cast<int64_t>(got.size());
    // Replayed plans and reused buffers: the same detections bit for bit.
    const std::vector<DetectedFace> again = cuda->detect(rgb.data(), h, w);
    ASSERT_EQ(again.size(), got.size()) << name;
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(again[i].x1, got[i].x1) << name;
      EXPECT_EQ(again[i].probability, got[i].probability) << name;
    }
  }
  EXPECT_GE(faces_seen, 5) << "the reference images should hold faces";
  std::printf("%s: %lld faces; largest differences from the CPU: box corner %.3g px, probability %.3g\n",
              f16 ? "f16" : "f32", static_cast<long long>(faces_seen), worst_box, worst_prob);
}

TEST(CudaMtcnn, F32MatchesTheCpuDetector) {
  HL_REQUIRE_CUDA();
  compare(false);
}

TEST(CudaMtcnn, F16MatchesTheCpuDetector) {
  HL_REQUIRE_CUDA();
  compare(true);
}

}  // namespace
}  // namespace hl
