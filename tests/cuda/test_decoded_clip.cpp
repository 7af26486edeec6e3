// The decoded-clip folder (tests/cuda/decoded_clip.h) that test_cuda_extract reads on
// the GPU machine, checked here without a GPU: a written clip reads back identical; a
// truncated or overlong frames.rgb / audio.f32, a missing or incomplete clip.json and a
// wrong sample rate are clear errors naming the file; and tools/make-decoded-clip.sh
// (when ffmpeg is on PATH) makes a folder that reads with the size it was asked for.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <string>

#include "cuda/decoded_clip.h"
#include "support/test_support.h"

namespace hl {
namespace {

namespace fs = std::filesystem;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A small clip written to a fresh folder.
struct WrittenClip {
  test::TempDir dir;
  test::DecodedClip clip = test::generated_clip(13, 7, 0.2);
  WrittenClip() { test::write_decoded_clip(dir.path().string(), clip); }
  std::string file(const std::string& name) const { return dir.file(name); }
  std::string error() const {
    return test::error_of([&] { test::read_decoded_clip(dir.path().string()); });
  }
};

TEST(DecodedClip, WrittenClipReadsBackIdentical) {
  WrittenClip w;
  ASSERT_EQ(w.clip.frames, 6);  // 0.2 s at 30000/1001 fps
  ASSERT_EQ(w.clip.audio.size(), 3200u);
  const test::DecodedClip r = test::read_decoded_clip(w.dir.path().string());
  EXPECT_EQ(r.width, 13);
  EXPECT_EQ(r.height, 7);
  EXPECT_EQ(r.frames, 6);
  EXPECT_EQ(r.fps_num, 30000);
  EXPECT_EQ(r.fps_den, 1001);
  EXPECT_EQ(r.sample_rate, 16000);
  EXPECT_EQ(r.rgb, w.clip.rgb);
  EXPECT_EQ(r.audio, w.clip.audio);
}

TEST(DecodedClip, GeneratedClipMoves) {
  const test::DecodedClip c = test::generated_clip(97, 71, 0.5);
  const size_t frame = 97 * 71 * 3;
  ASSERT_EQ(c.rgb.size(), static_cast<size_t>(c.frames) * frame);
  for (int64_t t = 1; t < c.frames; ++t)
    EXPECT_FALSE(std::equal(c.rgb.begin() + (t - 1) * frame, c.rgb.begin() + t * frame, c.rgb.begin() + t * frame))
        << "frame " << t << " repeats frame " << t - 1;
  float peak = 0;
  for (float v : c.audio) peak = std::max(peak, std::fabs(v));
  EXPECT_GT(peak, 0.1f);
  EXPECT_LE(peak, 1.0f);
}

TEST(DecodedClip, TruncatedFramesFileIsAClearError) {
  WrittenClip w;
  const uintmax_t size = fs::file_size(w.file("frames.rgb"));
  fs::resize_file(w.file("frames.rgb"), size - 1);
  const std::string e = w.error();
  EXPECT_TRUE(contains(e, w.file("frames.rgb"))) << e;
  EXPECT_TRUE(contains(e, "truncated")) << e;
  EXPECT_TRUE(contains(e, std::to_string(size - 1) + " bytes")) << e;
  EXPECT_TRUE(contains(e, "need " + std::to_string(size))) << e;
  EXPECT_TRUE(contains(e, "6 frames of 13x7 RGB24")) << e;
}

TEST(DecodedClip, OverlongAudioFileIsAClearError) {
  WrittenClip w;
  test::write_file(w.file("audio.f32"), std::vector<uint8_t>(3200 * 4 + 4, 0));
  const std::string e = w.error();
  EXPECT_TRUE(contains(e, w.file("audio.f32"))) << e;
  EXPECT_TRUE(contains(e, "too long")) << e;
}

TEST(DecodedClip, MissingFilesAreClearErrors) {
  {
    WrittenClip w;
    fs::remove(w.file("clip.json"));
    EXPECT_TRUE(contains(w.error(), w.file("clip.json"))) << w.error();
  }
  {
    WrittenClip w;
    fs::remove(w.file("frames.rgb"));
    EXPECT_TRUE(contains(w.error(), w.file("frames.rgb"))) << w.error();
  }
}

TEST(DecodedClip, BadDescriptionsAreClearErrors) {
  WrittenClip w;
  const auto with_json = [&](const std::string& text) {
    test::write_file(w.file("clip.json"), text);
    return w.error();
  };
  const std::string head = R"({"format": "hl-decoded-clip", "version": 1, "width": 13, "height": 7, )";
  const std::string rates = R"("fps_num": 30000, "fps_den": 1001, )";
  std::string e = with_json(head + rates + R"("sample_rate": 16000, "samples": 3200})");
  EXPECT_TRUE(contains(e, "\"frames\"")) << e;
  e = with_json(head + R"("frames": 6, )" + rates + R"("sample_rate": 44100, "samples": 3200})");
  EXPECT_TRUE(contains(e, "16000")) << e;
  e = with_json(head + R"("frames": 6.5, )" + rates + R"("sample_rate": 16000, "samples": 3200})");
  EXPECT_TRUE(contains(e, "\"frames\" is not an integer")) << e;
  e = with_json(head + R"("frames": -1, )" + rates + R"("sample_rate": 16000, "samples": 3200})");
  EXPECT_TRUE(contains(e, "outside")) << e;
  e = with_json("{\"format\": \"something else\"}");
  EXPECT_TRUE(contains(e, "not an hl decoded clip")) << e;
  e = with_json("not json");
  EXPECT_TRUE(contains(e, "not valid JSON")) << e;
  EXPECT_TRUE(contains(e, w.file("clip.json"))) << e;
}

TEST(DecodedClip, NonFiniteSampleIsAClearError) {
  WrittenClip w;
  w.clip.audio[5] = std::numeric_limits<float>::quiet_NaN();
  test::write_decoded_clip(w.dir.path().string(), w.clip);
  EXPECT_TRUE(contains(w.error(), "sample 5 is not finite")) << w.error();
}

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (!path) return false;
  std::string rest = path;
  for (size_t start = 0; start <= rest.size();) {
    const size_t end = rest.find(':', start);
    const std::string dir = rest.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!dir.empty() && fs::exists(fs::path(dir) / program)) return true;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return false;
}

TEST(DecodedClip, ScriptMakesAReadableClipOfTheAskedSize) {
  if (!on_path("ffmpeg")) GTEST_SKIP() << "ffmpeg is not on PATH";
  test::TempDir dir;
  const std::string out = dir.file("clip");
  const std::string script = (test::source_dir() / "tools" / "make-decoded-clip.sh").string();
  const test::CommandResult r = test::run_command({"/bin/bash", script, out, "33", "21", "0.5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const test::DecodedClip c = test::read_decoded_clip(out);
  EXPECT_EQ(c.width, 33);
  EXPECT_EQ(c.height, 21);
  EXPECT_NEAR(static_cast<double>(c.frames), 0.5 * 30000 / 1001, 1.0);           // 15 frames, give or take one
  EXPECT_NEAR(static_cast<double>(c.audio.size()), 0.5 * 16000, 0.1 * 16000);  // encoder priming and padding
  float peak = 0;
  for (float v : c.audio) peak = std::max(peak, std::fabs(v));
  EXPECT_GT(peak, 0.1f);  // the tone survived
}

TEST(DecodedClip, ScriptRefusesBadArguments) {
  const std::string script = (test::source_dir() / "tools" / "make-decoded-clip.sh").string();
  test::TempDir dir;
  const test::CommandResult r = test::run_command({"/bin/bash", script, dir.file("clip"), "0", "21", "0.5"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "WIDTH and HEIGHT")) << r.err;
  EXPECT_FALSE(fs::exists(dir.file("clip")));
}

}  // namespace
}  // namespace hl
