// hl-convert mtcnn and hl-extract --features faces run as a user would, against
// facenet-pytorch's own MTCNN (tests/golden/extract_faces_ref.py): a generated video with
// a face that moves, shrinks, leaves the picture and comes back cut by the edge; the
// reference decodes it with the ffmpeg command line (hl's frame rule) and computes the
// faces feature of every frame. Ours must match within 1e-5 of the frame's area (a box
// 1 px off would move it by ~1e-3 here), with --faces-step 1 and 3 (held values), alone
// and beside googlenet-free features (mfcc) in the same run.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/safetensors.h"
#include "media/media_fixtures.h"
#include "support/test_support.h"

namespace hl {
namespace {

using test::Contains;
using test::run_command;

class ExtractFaces : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    if (test::ffmpeg_cli().empty()) return;
    dir_ = new test::TempDir;
    ref_ok_ = test::run_golden_script("extract_faces_ref.py", {dir_->file("ref"), test::ffmpeg_cli()}) == 0;
    if (!ref_ok_) return;
    expected_ = nlohmann::json::parse(test::read_file(dir_->file("ref/expected.json")));
    convert_ = run_command({HL_CONVERT_PATH, "mtcnn", expected_["data_dir"].get<std::string>(), "--weights",
                            dir_->file("weights")});
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    HL_REQUIRE_FFMPEG_CLI();
    ASSERT_TRUE(ref_ok_) << "tests/golden/extract_faces_ref.py failed (are facenet-pytorch and scikit-image "
                            "installed in $HL_PYTHON's environment? tools/setup.sh installs them)";
    ASSERT_EQ(convert_.exit_code, 0) << convert_.err;
  }
  static std::string file(const std::string& name) { return dir_->file(name); }
  static test::CommandResult extract(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {HL_EXTRACT_PATH, "--weights", file("weights")};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv);
  }
  static void expect_faces(const std::string& features_file, const char* key) {
    const SafetensorsFile f = SafetensorsFile::open(features_file);
    const Tensor got = f.get("faces");
    const auto& want = expected_[key];
    ASSERT_EQ(got.shape(), Shape({static_cast<int64_t>(want.size())})) << features_file;
    double worst = 0;
    int64_t with_face = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_NEAR(got.data<float>()[i], want[i].get<double>(), 1e-5) << key << " frame " << i;
      worst = std::max(worst, std::abs(got.data<float>()[i] - want[i].get<double>()));
      with_face += want[i].get<double>() > 0 ? 1 : 0;
    }
    EXPECT_GE(with_face, 4) << "the video should show a face in several frames";
    EXPECT_LT(with_face, static_cast<int64_t>(want.size())) << "and none in some";
    std::printf("%s: %zu frames, %lld with a face, largest difference %.3g\n", key, want.size(),
                static_cast<long long>(with_face), worst);
  }

  static inline test::TempDir* dir_ = nullptr;
  static inline bool ref_ok_ = false;
  static inline nlohmann::json expected_;
  static inline test::CommandResult convert_;
};

TEST_F(ExtractFaces, EveryFrameEqualsFacenetPytorch) {
  const auto r = extract({"--features", "faces,mfcc", "--batch", "5", "--out", file("out1"), file("ref/faces.mp4")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_faces(file("out1/faces.safetensors"), "faces");
  const SafetensorsFile f = SafetensorsFile::open(file("out1/faces.safetensors"));
  EXPECT_TRUE(Contains(f.metadata().at("faces.extractor"), "detected every 1 frames"));
  EXPECT_EQ(f.metadata().at("frames"), std::to_string(expected_["faces"].size()));
}

TEST_F(ExtractFaces, FacesStepHoldsTheValueAndIsPartOfTheExtractor) {
  auto r = extract({"--features", "faces", "--faces-step", "3", "--out", file("out3"), file("ref/faces.mp4")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_faces(file("out3/faces.safetensors"), "faces_step3");
  EXPECT_TRUE(Contains(SafetensorsFile::open(file("out3/faces.safetensors")).metadata().at("faces.extractor"),
                       "detected every 3 frames"));
  // Another step is another extractor: the stored tensor is recomputed, not kept.
  r = extract({"--features", "faces", "--out", file("out3"), file("ref/faces.mp4")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "1 ok, 0 skipped")) << r.out;
  expect_faces(file("out3/faces.safetensors"), "faces");
}

}  // namespace
}  // namespace hl
