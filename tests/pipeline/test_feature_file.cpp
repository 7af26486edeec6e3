// The feature-file format's one home (pipeline/feature_file.h): names, frame-rate text,
// the metadata every file has, writing and reading back through the safetensors reader.
#include <gtest/gtest.h>

#include <filesystem>

#include "engine/error.h"
#include "engine/safetensors.h"
#include "pipeline/feature_file.h"
#include "support/test_support.h"

namespace hl {
namespace {

namespace fs = std::filesystem;

TEST(FeatureFile, PathAndKeys) {
  EXPECT_EQ(feature_file_path("out", "talk.v2"), (fs::path("out") / "talk.v2.safetensors").string());
  EXPECT_EQ(feature_meta::extractor_key(Feature::Mfcc), "mfcc.extractor");
  EXPECT_EQ(feature_meta::weights_key(Feature::Places365), "places365.weights");
}

TEST(FeatureFile, FrameRateTextIsReducedAndReadsBack) {
  EXPECT_EQ(frame_rate_string(FrameRate{60000, 2002}), "30000/1001");
  EXPECT_EQ(frame_rate_string(FrameRate{50, 2}), "25/1");
  const FrameRate r = parse_frame_rate(frame_rate_string(FrameRate{30000, 1001}));
  EXPECT_EQ(r.num, 30000);
  EXPECT_EQ(r.den, 1001);
  EXPECT_THROW(parse_frame_rate("30/"), Error);
  EXPECT_THROW(parse_frame_rate("-25"), Error);
}

TEST(FeatureFile, MetadataHasTheFormatsKeysAndRefusesToOverrideThem) {
  const auto m = feature_file_metadata({Feature::GoogLeNet, Feature::Mfcc}, FrameRate{25, 1}, 7, {{"source", "a.mp4"}});
  EXPECT_EQ(m.at("fps"), "25/1");
  EXPECT_EQ(m.at("frames"), "7");
  EXPECT_EQ(m.at("features"), "googlenet,mfcc");
  EXPECT_EQ(m.at("source"), "a.mp4");
  EXPECT_NE(test::error_of([] { (void)feature_file_metadata({Feature::Mfcc}, FrameRate{25, 1}, 7, {{"fps", "1/1"}}); })
                .find("'fps'"),
            std::string::npos);
}

TEST(FeatureFile, WrittenFileReadsBack) {
  test::TempDir dir;
  const std::string path = feature_file_path(dir.path().string(), "v");
  const int64_t frames = 3;
  std::map<Feature, Tensor> tensors;
  tensors[Feature::Mfcc] = Tensor::zeros(Shape(feature_tensor_shape(Feature::Mfcc, frames)), DType::F32);
  tensors[Feature::Faces] = Tensor::zeros(Shape(feature_tensor_shape(Feature::Faces, frames)), DType::F32);
  write_feature_file(path, tensors, feature_file_metadata({Feature::Faces, Feature::Mfcc}, FrameRate{30000, 1001},
                                                          frames, {{"hl_version", "test"}}));
  const SafetensorsFile file = SafetensorsFile::open(path);
  EXPECT_EQ(file.get("mfcc").shape(), (Shape{12, 13}));  // 4 rows per frame
  EXPECT_EQ(file.get("faces").shape(), (Shape{3}));
  EXPECT_EQ(feature_file_frames(file), 3);
  const FrameRate fps = feature_file_fps(file, path);
  EXPECT_EQ(fps.num, 30000);
  EXPECT_EQ(fps.den, 1001);
  EXPECT_EQ(file.metadata().at("hl_version"), "test");
}

TEST(FeatureFile, MissingOrBadFrameRateNamesTheFile) {
  test::TempDir dir;
  const std::string path = dir.file("bare.safetensors");
  write_safetensors(path, {{"mfcc", Tensor::zeros(Shape{4, 13}, DType::F32)}}, {{"fps", "fast"}, {"frames", "0"}});
  const SafetensorsFile file = SafetensorsFile::open(path);
  const std::string message = test::error_of([&] { (void)feature_file_fps(file, path); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("'fps'"), std::string::npos) << message;
  EXPECT_EQ(feature_file_frames(file), -1) << "frames must be a positive integer";
}

// A rate with a term above 2^31 − 1 (reduced) is refused, naming the file: with it the
// segment arithmetic (frames × den) could overflow 64 bits. Reduction comes first, so
// 60000000000/2000000000 is 30 and allowed.
TEST(FeatureFile, FrameRateTermsAboveInt32AreRefused) {
  test::TempDir dir;
  auto fps_of = [&](const std::string& text) {
    const std::string path = dir.file("r.safetensors");
    write_safetensors(path, {{"faces", Tensor::zeros(Shape{4}, DType::F32)}}, {{"fps", text}});
    std::string message;
    FrameRate fps{0, 0};
    message = test::error_of([&] { fps = feature_file_fps(SafetensorsFile::open(path), path); });
    return std::make_pair(fps, message);
  };
  const auto [ok, none] = fps_of("60000000000/2000000000");
  EXPECT_EQ(none, "(no error)");
  EXPECT_EQ(ok.num, 30);
  EXPECT_EQ(ok.den, 1);
  EXPECT_EQ(fps_of("2147483647/1").second, "(no error)");
  for (const char* bad : {"1/9223372036854775807", "2147483648/1", "9223372036854775807/3"}) {
    const std::string message = fps_of(bad).second;
    EXPECT_EQ(message.rfind(dir.file("r.safetensors") + ": metadata 'fps': ", 0), 0u) << bad << ": " << message;
    EXPECT_NE(message.find("above 2147483647"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace hl
