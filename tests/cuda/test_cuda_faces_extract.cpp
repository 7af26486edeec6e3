// faces and affect in hl's extractor on a CUDA device (VisualFeatureExtractor with
// --device cuda: MtcnnOnBackend and MiniXceptionOnBackend on the CUDA backend, f32)
// against the extractor's CPU path (golden-tested against facenet-pytorch and Keras), on
// tests/golden/mtcnn_ref.py's photographs and generated video frames, through run() (the
// producer thread detects while the networks' thread waits) and face_values.
// Tolerances: test_cuda_mtcnn.cpp holds the CUDA boxes within 1 px of the CPU's, so each
// side of the most confident box within 2 px: the faces value within (1 + 2 / side)^2 - 1
// relative; affect and the emotions within 1e-3 relative (f32 nets, 1e-5 apart in
// test_cuda_mini_xception.cpp, unless a box corner crosses an integer and fer's crop
// moves by a pixel: then this test names the frame). Needs a GPU (label gpu; skips
// visibly without one) and fer-emotion.safetensors in $HL_WEIGHTS (this program must not
// link libhdf5).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/safetensors.h"
#include "pipeline/visual_features.h"
#include "support/test_support.h"
#include "weights/mtcnn_map.h"

namespace hl {
namespace {

namespace fs = std::filesystem;

TEST(CudaFacesExtract, FacesAndAffectMatchTheCpu) {
  HL_REQUIRE_CUDA();
  const char* weights_dir = std::getenv("HL_WEIGHTS");
  const fs::path fer = weights_dir ? fs::path(weights_dir) / "fer-emotion.safetensors" : fs::path();
  if (!weights_dir || !fs::exists(fer))
    GTEST_SKIP() << "no fer-emotion.safetensors in $HL_WEIGHTS (hl-convert fer-emotion; the GPU carry has it)";
  test::TempDir dir;
  ASSERT_EQ(test::run_golden_script("mtcnn_ref.py", {dir.path().string()}), 0)
      << "tests/golden/mtcnn_ref.py failed (facenet-pytorch and scikit-image in $HL_PYTHON's environment?)";
  const nlohmann::json manifest = nlohmann::json::parse(test::read_file(dir.file("manifest.json")));
  fs::create_directories(dir.file("weights"));
  const ConvertResult mtcnn = convert_mtcnn(read_mtcnn_state_dicts(manifest["data_dir"].get<std::string>()));
  write_safetensors(dir.file("weights/mtcnn.safetensors"), mtcnn.tensors, mtcnn.metadata);
  fs::copy_file(fer, dir.file("weights/fer-emotion.safetensors"));
  std::vector<Tensor> frames;
  for (const auto& img : manifest["images"]) {
    const int64_t h = img["h"], w = img["w"];
    const std::vector<uint8_t> bytes = test::read_file(dir.file(img["file"]));
    ASSERT_EQ(static_cast<int64_t>(bytes.size()), h * w * 3);
    Tensor t = Tensor::empty({h, w, 3}, DType::U8);
    std::copy(bytes.begin(), bytes.end(), t.data<uint8_t>());
    frames.push_back(t);
  }
  std::map<Feature, Tensor> out[2];
  Tensor emotions[2];
  for (int on_cuda = 0; on_cuda < 2; ++on_cuda) {
    VisualFeatureOptions o;
    o.weights_dir = dir.file("weights");
    o.device = on_cuda ? Device::cuda(0) : Device::cpu();
    o.keep_emotions = true;
    o.batch = 4;
    VisualFeatureExtractor x({Feature::Faces, Feature::Affect}, o);
    ASSERT_EQ(x.faces_on_backend(), on_cuda == 1);
    size_t next = 0;
    out[on_cuda] = x.run([&](Tensor* rgb) {
      if (next == frames.size()) return false;
      *rgb = frames[next++];
      return true;
    });
    emotions[on_cuda] = x.affect_emotions();
    if (on_cuda) {  // face_values on this thread gives run()'s values
      const FaceValues v = x.face_values(frames[0]);
      EXPECT_EQ(v.faces, out[1].at(Feature::Faces).data<float>()[0]);
    }
  }
  const int64_t t = static_cast<int64_t>(frames.size());
  int64_t with_face = 0;
  double worst_affect = 0;
  for (int64_t i = 0; i < t; ++i) {
    const float want = out[0].at(Feature::Faces).data<float>()[i], got = out[1].at(Feature::Faces).data<float>()[i];
    if (want == 0.0f) {
      EXPECT_EQ(got, 0.0f) << "frame " << i;
      continue;
    }
    ++with_face;
    const double side = std::sqrt(static_cast<double>(want) * frames[i].size(0) * frames[i].size(1));
    const double tol = (1 + 2 / side) * (1 + 2 / side) - 1;
    EXPECT_LE(std::abs(got - want) / want, tol) << "frame " << i;
    const double ea = test::relative_error(out[1].at(Feature::Affect).data<float>() + i * 128,
                                           out[0].at(Feature::Affect).data<float>() + i * 128, 128);
    worst_affect = std::max(worst_affect, ea);
    EXPECT_LE(ea, 1e-3) << "frame " << i;
    EXPECT_LE(test::relative_error(emotions[1].data<float>() + i * 7, emotions[0].data<float>() + i * 7, 7), 1e-3)
        << "frame " << i;
  }
  EXPECT_GE(with_face, 5);
  std::printf("%lld frames with a face; worst affect relative difference %.3g\n", static_cast<long long>(with_face),
              worst_affect);
}

}  // namespace
}  // namespace hl
