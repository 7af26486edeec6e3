// faces and affect through the CNN-backend classes inside hl's extractor
// (VisualFeatureExtractor with faces_on_backend: MtcnnOnBackend and
// MiniXceptionOnBackend on the CPU backend, the code that `--device cuda` runs on the
// CUDA backend) against the extractor's CPU path (Mtcnn::detect and MiniXception::run,
// golden-tested against facenet-pytorch and Keras), with the published weights, on
// tests/golden/mtcnn_ref.py's photographs and generated video frames: through
// face_values and through run() (its producer thread).
//
// Tolerances, and why: the backend nets sum in another order (im2col + GEMM for every
// conv, PReLU as a ReLU half and a linear half mixed by a 1x1 conv, the depthwise convs as
// dense ones), so their outputs differ from the CPU nets' by f32 roundings (~1e-7
// relative); tests/nets/test_mtcnn_backend.cpp and test_mini_xception_backend.cpp hold
// both paths to facenet-pytorch and Keras within 1 px / 1e-4 and 1e-4 relative. Here the
// same number of faces, the faces value within 1e-4 relative (a box corner moved by ~1e-4
// px), and affect and the emotions within 1e-4 relative, the nets' own tolerance: fer's
// crop starts at the box's truncated corners, so a corner that lands on the other side of
// an integer would move the crop by a pixel (the printout shows the margin).
//
// Also: the kept buffers of the CPU path (Mtcnn::detect_into with an MtcnnScratch,
// MiniXception::run_into, fer_face_crop_into) give the fresh calls' results bit for bit,
// whatever the order of the image sizes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "nets/fer_crop.h"
#include "nets/mini_xception.h"
#include "nets/mtcnn.h"
#include "pipeline/visual_features.h"
#include "face_test_weights.h"

namespace hl {
namespace {

double relative(float got, float want) {
  return std::abs(static_cast<double>(got) - want) / std::max(std::abs(static_cast<double>(want)), 1e-30);
}

class FacesOnBackend : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir;
    manifest_ = new nlohmann::json;
    missing_ = new std::string(test::write_face_weights(*dir_, manifest_));
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete manifest_;
    delete missing_;
  }
  void SetUp() override {
    if (!missing_->empty()) GTEST_SKIP() << *missing_;
  }
  static VisualFeatureOptions options(bool on_backend) {
    VisualFeatureOptions o;
    o.weights_dir = dir_->file("weights");
    o.faces_on_backend = on_backend;
    o.keep_emotions = true;
    o.batch = 4;
    return o;
  }
  static std::vector<Tensor> images() {
    std::vector<Tensor> out;
    for (const auto& img : (*manifest_)["images"]) out.push_back(test::manifest_image(*dir_, img));
    return out;
  }
  static inline test::TempDir* dir_ = nullptr;
  static inline nlohmann::json* manifest_ = nullptr;
  static inline std::string* missing_ = nullptr;
};

TEST_F(FacesOnBackend, FaceValuesMatchTheCpuPath) {
  VisualFeatureExtractor cpu({Feature::Faces, Feature::Affect}, options(false));
  VisualFeatureExtractor backend({Feature::Faces, Feature::Affect}, options(true));
  ASSERT_FALSE(cpu.faces_on_backend());
  ASSERT_TRUE(backend.faces_on_backend());
  int64_t with_face = 0;
  double worst_faces = 0, worst_affect = 0, worst_emotions = 0;
  for (const Tensor& rgb : images()) {
    const FaceValues want = cpu.face_values(rgb), got = backend.face_values(rgb);
    EXPECT_EQ(got.faces == 0.0f, want.faces == 0.0f) << "a face found by one path only";
    if (want.faces == 0.0f) {
      EXPECT_EQ(got.faces, 0.0f);
      continue;
    }
    ++with_face;
    worst_faces = std::max(worst_faces, relative(got.faces, want.faces));
    EXPECT_LE(relative(got.faces, want.faces), 1e-4) << got.faces << " vs " << want.faces;
    ASSERT_EQ(got.affect.size(), 128u);
    ASSERT_EQ(got.emotions.size(), 7u);
    const double ea = test::relative_error(got.affect.data(), want.affect.data(), 128);
    const double ee = test::relative_error(got.emotions.data(), want.emotions.data(), 7);
    worst_affect = std::max(worst_affect, ea);
    worst_emotions = std::max(worst_emotions, ee);
    EXPECT_LE(ea, 1e-4);
    EXPECT_LE(ee, 1e-4);
  }
  EXPECT_GE(with_face, 5) << "the reference images hold faces";
  std::printf("%lld images with a face: worst relative differences faces %.3g, affect %.3g, emotions %.3g\n",
              static_cast<long long>(with_face), worst_faces, worst_affect, worst_emotions);
}

TEST_F(FacesOnBackend, RunMatchesTheCpuPath) {
  const std::vector<Tensor> frames = images();
  std::map<Feature, Tensor> out[2];
  Tensor emotions[2];
  for (int on = 0; on < 2; ++on) {
    VisualFeatureExtractor x({Feature::Faces, Feature::Affect}, options(on == 1));
    size_t next = 0;
    out[on] = x.run([&](Tensor* rgb) {
      if (next == frames.size()) return false;
      *rgb = frames[next++];
      return true;
    });
    emotions[on] = x.affect_emotions();
  }
  const int64_t t = static_cast<int64_t>(frames.size());
  ASSERT_EQ(out[1].at(Feature::Faces).numel(), t);
  ASSERT_EQ(out[1].at(Feature::Affect).numel(), t * 128);
  ASSERT_EQ(emotions[1].numel(), t * 7);
  for (int64_t i = 0; i < t; ++i) {
    const float want = out[0].at(Feature::Faces).data<float>()[i], got = out[1].at(Feature::Faces).data<float>()[i];
    if (want == 0.0f) {
      EXPECT_EQ(got, 0.0f) << "frame " << i;
      continue;
    }
    EXPECT_LE(relative(got, want), 1e-4) << "frame " << i;
    EXPECT_LE(test::relative_error(out[1].at(Feature::Affect).data<float>() + i * 128,
                                   out[0].at(Feature::Affect).data<float>() + i * 128, 128),
              1e-4)
        << "frame " << i;
    EXPECT_LE(test::relative_error(emotions[1].data<float>() + i * 7, emotions[0].data<float>() + i * 7, 7), 1e-4)
        << "frame " << i;
  }
}

bool same_faces(const std::vector<DetectedFace>& a, const std::vector<DetectedFace>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(DetectedFace)) != 0) return false;
  return true;
}

TEST_F(FacesOnBackend, KeptBuffersGiveTheFreshResultsBitForBit) {
  const Mtcnn mtcnn = Mtcnn::load(dir_->file("weights/mtcnn.safetensors"));
  const MiniXception fer = MiniXception::load(dir_->file("weights/fer-emotion.safetensors"));
  const std::vector<Tensor> all = images();
  MtcnnScratch scratch;
  MiniXceptionScratch fer_scratch;
  FerCropScratch crop_scratch;
  std::vector<DetectedFace> faces;
  int64_t crops = 0;
  // Forwards, then backwards: every image after others of other sizes.
  for (int pass = 0; pass < 2; ++pass)
    for (size_t k = 0; k < all.size(); ++k) {
      const Tensor& rgb = all[pass == 0 ? k : all.size() - 1 - k];
      const int64_t h = rgb.size(0), w = rgb.size(1);
      MtcnnStageCounts fresh_counts, kept_counts;
      const std::vector<DetectedFace> fresh = mtcnn.detect(rgb.data<uint8_t>(), h, w, &fresh_counts);
      mtcnn.detect_into(rgb.data<uint8_t>(), h, w, scratch, faces, &kept_counts);
      ASSERT_TRUE(same_faces(faces, fresh)) << "image " << k << " pass " << pass;
      EXPECT_EQ(kept_counts.pnet, fresh_counts.pnet);
      EXPECT_EQ(kept_counts.rnet, fresh_counts.rnet);
      for (const DetectedFace& f : fresh) {
        const std::vector<uint8_t> crop = fer_face_crop(rgb.data<uint8_t>(), h, w, f.x1, f.y1, f.x2, f.y2);
        std::vector<uint8_t> kept(64 * 64, 0);
        ASSERT_EQ(fer_face_crop_into(rgb.data<uint8_t>(), h, w, f.x1, f.y1, f.x2, f.y2, kept.data(), crop_scratch),
                  !crop.empty());
        if (crop.empty()) continue;
        ASSERT_EQ(kept, crop);
        std::vector<float> grey(crop.size());
        for (size_t i = 0; i < crop.size(); ++i) grey[i] = scale_fer_pixel(crop[i]);
        const AffectOutput want = fer.run(grey);
        std::vector<float> embedding(128), probabilities(7);
        fer.run_into(grey.data(), fer_scratch, embedding.data(), probabilities.data());
        ASSERT_EQ(std::memcmp(embedding.data(), want.embedding.data(), 128 * sizeof(float)), 0);
        ASSERT_EQ(std::memcmp(probabilities.data(), want.probabilities.data(), 7 * sizeof(float)), 0);
        ++crops;
      }
    }
  EXPECT_GE(crops, 10);
}

}  // namespace
}  // namespace hl
