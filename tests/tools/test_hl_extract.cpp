// hl-extract run as a user would, on media made by the ffmpeg command line: the MFCC
// tensor against nets/mfcc.h on the signal the ffmpeg CLI decodes (an independent
// decoding path), the frame count against the CLI's fps filter, the metadata against
// sha256sum; skipping, resuming with kept features, bad inputs, sharding, --list, usage
// errors, damaged outputs, no temporary files. Plus the library pieces (SHA-256 vectors,
// shards, ids).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "engine/device.h"
#include "engine/safetensors.h"
#include "media/media_fixtures.h"
#include "pipeline/extract.h"
#include "nets/mfcc.h"
#include "support/test_support.h"
#include "tools/file_size_limit.h"

namespace hl {
namespace {

namespace fs = std::filesystem;
using test::Contains;
using test::run_command;

// ---------------------------------------------------------------------------------------
// Library pieces

std::string sha_of(const std::string& s) {
  return sha256_hex(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

TEST(ExtractLib, Sha256KnownVectors) {
  // FIPS 180-4 examples.
  EXPECT_EQ(sha_of(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha_of("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha_of(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // Fed in uneven pieces: the same digest. Lengths around the padding boundary too.
  const std::string text(1000, 'x');
  for (size_t len : {55u, 56u, 63u, 64u, 65u, 119u, 120u, 1000u}) {
    Sha256 h;
    for (size_t pos = 0, step = 1; pos < len; pos += step, step = step % 13 + 3)
      h.update(text.data() + pos, std::min(step, len - pos));
    EXPECT_EQ(h.hex_digest(), sha_of(text.substr(0, len))) << len;
  }
}

TEST(ExtractLib, IdsShardsAndNames) {
  EXPECT_EQ(video_id("/data/talk.v2.mp4"), "talk.v2");
  EXPECT_EQ(video_id("clip"), "clip");
  EXPECT_EQ(feature_file_path("out", "talk"), (fs::path("out") / "talk.safetensors").string());
  EXPECT_TRUE(find_duplicate_ids({"a/x.mp4", "b/y.mp4"}).empty());
  const auto dup = find_duplicate_ids({"a/x.mp4", "b/y.mp4", "c/x.mkv", "x.wav"});
  ASSERT_EQ(dup.size(), 1u);
  EXPECT_EQ(dup[0], "id 'x': a/x.mp4, c/x.mkv and x.wav");

  const Shard s = parse_shard("1/3");
  EXPECT_EQ(s.index, 1);
  EXPECT_EQ(s.count, 3);
  for (const char* bad : {"3/3", "-1/2", "1/0", "1", "a/b", "1/2/3", "", "0/ 2"})
    EXPECT_THROW(parse_shard(bad), Error) << bad;
  // Stable values (FNV-1a 64 test vectors) and a partition with every shard used.
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
  std::vector<int> per(4, 0);
  for (int i = 0; i < 1000; ++i) {
    const std::string id = "video" + std::to_string(i);
    int hits = 0;
    for (int k = 0; k < 4; ++k)
      if (in_shard(id, Shard{k, 4})) ++hits, ++per[static_cast<size_t>(k)];
    EXPECT_EQ(hits, 1) << id;
  }
  for (int n : per) EXPECT_GT(n, 200);

  const MfccParams p = mfcc_params_for(FrameRate{30000, 1001});
  EXPECT_EQ(p.step_num, 2002);  // the paper's step, as nets/mfcc.h has it
  EXPECT_EQ(p.step_den, 15);
  EXPECT_EQ(frame_rate_string(FrameRate{60000, 2002}), "30000/1001");
  EXPECT_NO_THROW(check_extractable(Feature::Affect));  // issue 17
  EXPECT_NO_THROW(check_extractable(Feature::Cam));     // issue 16
  EXPECT_NO_THROW(check_extractable(Feature::GoogLeNet));
  EXPECT_NO_THROW(check_extractable(Feature::Mfcc));
}

// ---------------------------------------------------------------------------------------
// The tool

class HlExtract : public ::testing::Test {
 protected:
  // Media shared by the tests (made once): a 25-fps video with AAC audio, a 30-fps mkv
  // with noise audio, a video without audio, and an audio-only FLAC.
  static void SetUpTestSuite() {
    if (test::ffmpeg_cli().empty()) return;
    media_ = new test::TempDir();
    test::make_media(media("a.mp4"), {"testsrc=size=64x48:rate=25:duration=2", "sine=frequency=440:sample_rate=44100:duration=2"},
                     {"-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"});
    test::make_media(media("b.mkv"), {"testsrc=size=32x24:rate=30:duration=1.5", "anoisesrc=d=1.5:c=pink:r=48000:a=0.3"},
                     {"-c:v", "ffv1", "-c:a", "flac"});
    test::make_media(media("silent.mp4"), {"testsrc=size=32x24:rate=25:duration=1"}, {"-c:v", "libx264", "-pix_fmt", "yuv420p"});
    test::make_media(media("tone.flac"), {"sine=frequency=300:sample_rate=44100:duration=1.3"}, {"-c:a", "flac"});
  }
  static void TearDownTestSuite() {
    delete media_;
    media_ = nullptr;
  }
  void SetUp() override { HL_REQUIRE_FFMPEG_CLI(); }

  static std::string media(const std::string& name) { return media_->file(name); }
  std::string out() const { return dir.file("out"); }
  std::string feature_file(const std::string& id) const { return feature_file_path(out(), id); }

  static test::CommandResult extract(std::vector<std::string> args) {
    args.insert(args.begin(), HL_EXTRACT_PATH);
    return run_command(args);
  }
  std::set<std::string> out_files() const {
    std::set<std::string> names;
    if (fs::exists(out()))
      for (const auto& e : fs::directory_iterator(out())) names.insert(e.path().filename().string());
    return names;
  }

  // T by the ffmpeg CLI: the fps filter with round=up (docs/media.md), 1x1 gray frames.
  static int64_t cli_frames(const std::string& path) {
    const std::string bytes = test::run_ffmpeg({"-i", path, "-map", "0:v:0", "-vf",
                                                "setpts=PTS-STARTPTS,fps=30000/1001:round=up,scale=1:1,format=gray",
                                                "-fps_mode", "passthrough", "-f", "rawvideo", "-"});
    return static_cast<int64_t>(bytes.size());
  }
  // The MFCC input by the ffmpeg CLI: 16 kHz mono f32, scaled to the int16 range.
  static Tensor cli_signal(const std::string& path) {
    const std::string bytes = test::run_ffmpeg({"-i", path, "-map", "0:a:0", "-ac", "1", "-ar", "16000", "-f", "f32le", "-"});
    const int64_t n = static_cast<int64_t>(bytes.size() / 4);
    Tensor t = Tensor::empty(Shape({n}), DType::F32);
    std::memcpy(t.data<float>(), bytes.data(), static_cast<size_t>(n) * 4);
    for (int64_t i = 0; i < n; ++i) t.data<float>()[i] *= 32768.0f;
    return t;
  }
  // Every element equal (the decoding is bit-identical to the CLI's, docs/media.md).
  static void expect_mfcc_matches(const std::string& file, const std::string& source, int64_t frames) {
    const SafetensorsFile f = SafetensorsFile::open(file);
    const Tensor got = f.get("mfcc");
    ASSERT_EQ(got.dtype(), DType::F32);
    ASSERT_EQ(got.shape(), Shape({4 * frames, 13}));
    const Tensor want = mfcc(cli_signal(source), 4 * frames, MfccParams::paper());
    int64_t differ = 0;
    for (int64_t i = 0; i < want.numel(); ++i) differ += got.data<float>()[i] != want.data<float>()[i];
    EXPECT_EQ(differ, 0) << "of " << want.numel() << " values in " << file;
  }

  test::TempDir dir;
  static test::TempDir* media_;
};
test::TempDir* HlExtract::media_ = nullptr;

TEST_F(HlExtract, MfccMetadataAndSkip) {
  const std::string in = media("a.mp4");
  auto r = extract({in, "--features", "mfcc", "--out", out()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "1 ok, 0 skipped (up to date), 0 failed"));
  EXPECT_EQ(out_files(), std::set<std::string>({"a.safetensors"}));  // no temporary files

  const int64_t T = cli_frames(in);
  EXPECT_EQ(T, 60);  // 2 s at 29.97 fps: ceil(59.94)
  expect_mfcc_matches(feature_file("a"), in, T);

  const SafetensorsFile f = SafetensorsFile::open(feature_file("a"));
  const auto& m = f.metadata();
  EXPECT_EQ(m.at("fps"), "30000/1001");
  EXPECT_EQ(m.at("frames"), std::to_string(T));
  EXPECT_NEAR(std::stod(m.at("duration")), 2.0, 0.05);
  EXPECT_EQ(m.at("audio_rate"), "16000");
  EXPECT_EQ(m.at("source"), in);
  EXPECT_EQ(m.at("source_size"), std::to_string(fs::file_size(in)));
  const auto sum = run_command({"sha256sum", in});
  ASSERT_EQ(sum.exit_code, 0);
  EXPECT_EQ(m.at("source_sha256"), sum.out.substr(0, 64));
  EXPECT_EQ(m.at("mfcc.extractor"), extractor_name(Feature::Mfcc, FrameRate{30000, 1001}));
  EXPECT_TRUE(Contains(m.at("mfcc.extractor"), "step 2002/15 samples exact"));
  EXPECT_EQ(m.at("mfcc.weights"), "none");
  EXPECT_EQ(m.at("features"), "mfcc");
  EXPECT_FALSE(m.at("hl_version").empty());

  // The second run skips: the file is not rewritten.
  const auto before = fs::last_write_time(feature_file("a"));
  const auto bytes = test::read_file(feature_file("a"));
  r = extract({in, "--features", "mfcc", "--out", out()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "0 ok, 1 skipped (up to date), 0 failed"));
  EXPECT_EQ(fs::last_write_time(feature_file("a")), before);
  EXPECT_EQ(test::read_file(feature_file("a")), bytes);

  // --force recomputes (the same values).
  r = extract({in, "--features", "mfcc", "--out", out(), "--force"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "1 ok, 0 skipped"));
  EXPECT_EQ(test::read_file(feature_file("a")), bytes);
  EXPECT_EQ(out_files(), std::set<std::string>({"a.safetensors"}));
}

// Streams that start at different times: row 4f must start at video frame f, so audio
// that starts 0.5 s after the first frame gets 8000 samples (0.5 s at 16 kHz) of silence
// in front, and audio that starts 0.5 s before it loses its first 8000 samples. Lossless
// codecs in Matroska (millisecond timestamps) make the offsets exact.
TEST_F(HlExtract, AudioIsAlignedWithTheFirstVideoFrame) {
  const std::string late = dir.file("late.mkv"), early = dir.file("early.mkv");
  test::run_ffmpeg({"-f", "lavfi", "-i", "testsrc=size=32x24:rate=30:duration=2", "-itsoffset", "0.5", "-f", "lavfi",
                    "-i", "sine=frequency=700:sample_rate=16000:duration=1.5", "-c:v", "ffv1", "-c:a", "flac", late});
  test::run_ffmpeg({"-itsoffset", "0.5", "-f", "lavfi", "-i", "testsrc=size=32x24:rate=30:duration=1.5", "-f", "lavfi",
                    "-i", "sine=frequency=700:sample_rate=16000:duration=2", "-c:v", "ffv1", "-c:a", "flac", early});
  for (const auto& [path, shift] : {std::pair<std::string, int64_t>{late, 8000}, {early, -8000}}) {
    SCOPED_TRACE(path);
    const auto r = extract({path, "--features", "mfcc", "--out", out()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const int64_t T = cli_frames(path);
    const Tensor cli = cli_signal(path);  // from the audio's own first sample
    const int64_t n = cli.numel();
    Tensor aligned = Tensor::zeros(Shape{n + shift}, DType::F32);
    for (int64_t i = 0; i < n; ++i)
      if (i + shift >= 0) aligned.data<float>()[i + shift] = cli.data<float>()[i];
    const Tensor want = mfcc(aligned, 4 * T, MfccParams::paper());
    const SafetensorsFile f = SafetensorsFile::open(feature_file(video_id(path)));
    const Tensor got = f.get("mfcc");
    ASSERT_EQ(got.shape(), want.shape());
    int64_t differ = 0;
    for (int64_t i = 0; i < want.numel(); ++i) differ += got.data<float>()[i] != want.data<float>()[i];
    EXPECT_EQ(differ, 0);
    EXPECT_NEAR(std::stod(f.metadata().at("mfcc.audio_offset_seconds")), shift / 16000.0, 1e-3);
  }
}

// --device cuda computes the MFCC with cuFFT; without a usable GPU the input fails with
// a message that says so (and the run reports it like any other failure).
TEST_F(HlExtract, DeviceCudaWithoutAGpuIsAClearFailure) {
  if (cuda_available()) GTEST_SKIP() << "a CUDA device is visible: this checks the message without one";
  const auto r = extract({media("a.mp4"), "--features", "mfcc", "--out", out(), "--device", "cuda"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.err, "mfcc on cuda:0")) << r.err;
  EXPECT_TRUE(Contains(r.out, "0 ok, 0 skipped (up to date), 1 failed"));
}

TEST_F(HlExtract, AudioOnlyInputCountsFramesFromTheAudio) {
  const std::string in = media("tone.flac");
  const auto r = extract({in, "--features", "mfcc", "--out", out()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const int64_t n = cli_signal(in).numel();
  const int64_t T = (n * 30000 + 16000 * 1001 - 1) / (16000 * 1001);  // ceil(n / 16000 · 29.97)
  EXPECT_EQ(T, 39);  // 1.3 s
  EXPECT_EQ(SafetensorsFile::open(feature_file("tone")).metadata().at("frames"), std::to_string(T));
  expect_mfcc_matches(feature_file("tone"), in, T);
}

TEST_F(HlExtract, BadInputsAreReportedAndTheRunContinues) {
  const std::string silent = media("silent.mp4"), good = media("b.mkv"), missing = dir.file("missing.mp4");
  test::write_file(dir.file("junk.mp4"), std::string("this is not a video"));
  const auto r = extract({silent, good, missing, dir.file("junk.mp4"), "--features", "mfcc", "--out", out()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(Contains(r.err, "hl-extract: error: " + silent + ": has no audio stream; mfcc needs one"));
  EXPECT_TRUE(Contains(r.err, "hl-extract: error: " + missing + ": cannot open"));
  EXPECT_TRUE(Contains(r.err, "hl-extract: error: " + dir.file("junk.mp4") + ": "));
  EXPECT_TRUE(Contains(r.out, "1 ok, 0 skipped (up to date), 3 failed"));
  EXPECT_TRUE(Contains(r.out, "  failed: " + silent + ": has no audio stream; mfcc needs one"));
  EXPECT_EQ(out_files(), std::set<std::string>({"b.safetensors"}));
  const int64_t T = cli_frames(good);
  EXPECT_EQ(T, 45);  // 1.5 s at 29.97 fps: ceil(44.955)
  expect_mfcc_matches(feature_file("b"), good, T);
}

TEST_F(HlExtract, ShardsPartitionAListedDataset) {
  // Four inputs (copies of one clip under other names) in a list file.
  std::string list = "# dataset\n\n";
  std::vector<std::string> ids = {"a", "b", "c", "d"};
  for (const auto& id : ids) {
    fs::copy_file(media("tone.flac"), dir.file(id + ".flac"));
    list += dir.file(id + ".flac") + "\r\n";
  }
  test::write_file(dir.file("list.txt"), list);
  std::set<std::string> want0, want1;
  for (const auto& id : ids) (in_shard(id, Shard{0, 2}) ? want0 : want1).insert(id + ".safetensors");
  ASSERT_FALSE(want0.empty());
  ASSERT_FALSE(want1.empty());

  auto r = extract({"--list", dir.file("list.txt"), "--features", "mfcc", "--out", out(), "--shard", "0/2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(out_files(), want0);
  EXPECT_TRUE(Contains(r.out, "(shard 0/2: " + std::to_string(want0.size()) + " input"));
  r = extract({"--list", dir.file("list.txt"), "--features", "mfcc", "--out", out(), "--shard", "1/2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> all = want0;
  all.insert(want1.begin(), want1.end());
  EXPECT_EQ(out_files(), all);
  // Without --shard the whole list is up to date.
  r = extract({"--list", dir.file("list.txt"), "--features", "mfcc", "--out", out()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "0 ok, 4 skipped (up to date), 0 failed"));
  // --shard auto as element 1 of a Slurm array 0-1 (pipeline/shard_env.h): shard 1/2.
  setenv("SLURM_ARRAY_TASK_ID", "1", 1);
  setenv("SLURM_ARRAY_TASK_MIN", "0", 1);
  setenv("SLURM_ARRAY_TASK_MAX", "1", 1);
  r = extract({"--list", dir.file("list.txt"), "--features", "mfcc", "--out", out(), "--shard", "auto"});
  for (const char* v : {"SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX"}) unsetenv(v);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "0 ok, " + std::to_string(want1.size()) +
                                  " skipped (up to date), 0 failed (Slurm array task 1: shard 1/2: "))
      << r.out;
  // Without a scheduler's variables: a usage error naming them.
  r = extract({"--list", dir.file("list.txt"), "--features", "mfcc", "--out", out(), "--shard", "auto"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "neither SLURM_ARRAY_TASK_ID")) << r.err;
}

TEST_F(HlExtract, UsageErrors) {
  const std::string in = media("a.mp4");
  // Every feature is available: without its weights, the error names the file and the
  // command (cam: the Multisensory network, pipeline/cam_features.h; faces: MTCNN).
  fs::create_directories(dir.file("no_weights"));
  auto r = extract({in, "--features", "cam,mfcc", "--weights", dir.file("no_weights"), "--out", dir.file("cam_out")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.err, "multisensory-cam.safetensors")) << r.err;
  EXPECT_TRUE(Contains(r.err, "hl-convert multisensory-cam")) << r.err;
  r = extract({in, "--features", "faces", "--weights", dir.file("no_weights"), "--out", dir.file("faces_out")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.err, "mtcnn.safetensors")) << r.err;
  EXPECT_TRUE(Contains(r.err, "hl-convert mtcnn")) << r.err;
  r = extract({in, "--features", "faces", "--faces-step", "0", "--out", out()});
  EXPECT_EQ(r.exit_code, 2);
  r = extract({in, "--features", "mfcc,bogus", "--out", out()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "unknown feature 'bogus'"));
  // Two inputs with one id: refused before any work.
  fs::create_directories(dir.file("other"));
  fs::copy_file(media("b.mkv"), dir.file("other/a.mkv"));
  r = extract({in, dir.file("other/a.mkv"), "--features", "mfcc", "--out", out()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "same video id"));
  EXPECT_TRUE(Contains(r.err, "id 'a': " + in + " and " + dir.file("other/a.mkv")));
  r = extract({in, "--features", "mfcc", "--out", out(), "--shard", "2/2"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "--shard '2/2'"));
  r = extract({"--features", "mfcc", "--out", out()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "no inputs"));
  r = extract({in, "--features", "mfcc", "--out", out(), "--batch", "0"});
  EXPECT_EQ(r.exit_code, 2);
  r = extract({in, "--features", "mfcc", "--out", out(), "--device", "tpu"});
  EXPECT_EQ(r.exit_code, 2);
  r = extract({in, "--features", "mfcc", "--out", out(), "--fps", "fast"});
  EXPECT_EQ(r.exit_code, 2);
  // Rates outside 1/5 ... 1000 fps: refused up front, saying the range (1/1000000 used
  // to pass and then fail every input with a message about timestamps).
  for (const char* fps : {"1/1000000", "0.19", "1/6", "1001", "5000/3"}) {
    r = extract({in, "--features", "mfcc", "--out", out(), "--fps", fps});
    EXPECT_EQ(r.exit_code, 2) << fps;
    EXPECT_TRUE(Contains(r.err, "is outside the range hl-extract accepts, 1/5 to 1000 fps")) << fps;
  }
  EXPECT_THROW(check_feature_rate(FrameRate{1, 1000000}), Error);
  EXPECT_THROW(check_feature_rate(FrameRate{1000000001, 1000000000}), Error);  // 1.000000001 fps, terms too big
  EXPECT_NO_THROW(check_feature_rate(FrameRate{1, 5}));
  EXPECT_NO_THROW(check_feature_rate(FrameRate{1000, 1}));
  r = extract({"--list", dir.file("no-such-list.txt"), "--features", "mfcc", "--out", out()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_FALSE(fs::exists(out()));  // nothing was done
  // An endless list is refused with its name (it used to be read until memory ran out).
  r = extract({"--list", "/dev/zero", "--features", "mfcc", "--out", out()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.err, "/dev/zero")) << r.err;
  EXPECT_FALSE(fs::exists(out()));
  // A file name that cannot be a video id (it would be written unquoted into CSV files).
  fs::copy_file(in, dir.file("a,b.mp4"));
  r = extract({dir.file("a,b.mp4"), "--features", "mfcc", "--out", out()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "its video id (the file name without extension) contains ','")) << r.err;
  EXPECT_FALSE(fs::exists(out()));
  r = extract({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.out, "--shard"));
  EXPECT_TRUE(Contains(r.out, "from 1/5 to 1000"));
}

TEST_F(HlExtract, RatesAtTheEdgesOfTheRangeWork) {
  // 1/5 fps: 2 s of video hold one frame (ceil(2 / 5)); 1000 fps: 2000 frames.
  const std::string in = media("a.mp4");
  auto r = extract({in, "--features", "mfcc", "--out", out(), "--fps", "1/5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(SafetensorsFile::open(feature_file("a")).metadata().at("frames"), "1");
  r = extract({in, "--features", "mfcc", "--out", out(), "--fps", "1000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(SafetensorsFile::open(feature_file("a")).metadata().at("frames"), "2000");
}

TEST_F(HlExtract, FileSizeLimitFailsThatFileAndTheRunContinues) {
  // Under ulimit -f 48 (KiB) the MFCC file of 60 s of audio (1799 frames x 4 rows x 13
  // values) cannot be written; that of a.mp4 (60 frames) can. The first input fails
  // with a message naming its feature file, the second is done, no temporary is left.
  const std::string big = dir.file("long.flac"), small = media("a.mp4");
  test::make_media(big, {"sine=frequency=300:sample_rate=16000:duration=60"}, {"-c:a", "flac"});
  const auto r = test::run_with_file_size_limit(48, {HL_EXTRACT_PATH, big, small, "--features", "mfcc", "--out", out()});
  EXPECT_EQ(r.exit_code, 1) << r.err;  // not 153 (killed by SIGXFSZ)
  EXPECT_TRUE(Contains(r.err, "hl-extract: error: " + feature_file("long") + ": cannot write")) << r.err;
  EXPECT_TRUE(Contains(r.err, "File too large"));
  EXPECT_TRUE(Contains(r.err, "ulimit -f"));
  EXPECT_TRUE(Contains(r.out, "1 ok, 0 skipped (up to date), 1 failed")) << r.out;
  EXPECT_TRUE(Contains(r.out, "  failed: " + big + ": " + feature_file("long") + ": cannot write"));
  EXPECT_EQ(out_files(), std::set<std::string>({"a.safetensors"}));  // no *.tmp.* either
  expect_mfcc_matches(feature_file("a"), small, 60);
}

TEST_F(HlExtract, DamagedOrStaleOutputsAreRecomputed) {
  const std::string in = media("b.mkv");
  fs::create_directories(out());
  test::write_file(feature_file("b"), std::string("garbage, not safetensors"));
  auto r = extract({in, "--features", "mfcc", "--out", out()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.err, "is damaged"));
  EXPECT_TRUE(Contains(r.out, "1 ok, 0 skipped"));
  const int64_t T = 45;
  expect_mfcc_matches(feature_file("b"), in, T);
  EXPECT_EQ(out_files(), std::set<std::string>({"b.safetensors"}));

  // A file made from another source (the metadata says so) is recomputed too.
  auto meta = SafetensorsFile::open(feature_file("b")).metadata();
  const auto good_meta = meta;
  meta["source_sha256"] = std::string(64, '0');
  Tensor mfcc_t = SafetensorsFile::open(feature_file("b")).get("mfcc").clone();
  write_safetensors(feature_file("b"), {{"mfcc", mfcc_t}}, meta);
  r = extract({in, "--features", "mfcc", "--out", out()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.err, "another source file"));
  EXPECT_TRUE(Contains(r.out, "1 ok, 0 skipped"));

  // A matching file that has another feature but not mfcc: mfcc is added, the other
  // feature is kept as it was (resume after a new feature is requested).
  meta = good_meta;
  meta.erase("mfcc.extractor");
  meta.erase("mfcc.weights");
  meta["faces.extractor"] = "some face detector";
  meta["faces.weights"] = "sha256:1234";
  Tensor faces = Tensor::empty(Shape({T}), DType::F32);
  for (int64_t i = 0; i < T; ++i) faces.data<float>()[i] = static_cast<float>(i) * 0.5f;
  write_safetensors(feature_file("b"), {{"faces", faces}}, meta);
  r = extract({in, "--features", "mfcc", "--out", out()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.err, "kept faces"));
  {
    const SafetensorsFile f = SafetensorsFile::open(feature_file("b"));
    EXPECT_EQ(f.names().size(), 2u);
    const Tensor kept = f.get("faces");
    ASSERT_EQ(kept.shape(), Shape({T}));
    for (int64_t i = 0; i < T; ++i) EXPECT_EQ(kept.data<float>()[i], static_cast<float>(i) * 0.5f);
    EXPECT_EQ(f.metadata().at("faces.extractor"), "some face detector");
    EXPECT_EQ(f.metadata().at("faces.weights"), "sha256:1234");
    EXPECT_EQ(f.metadata().at("features"), "faces,mfcc");
  }
  expect_mfcc_matches(feature_file("b"), in, T);

  // An mfcc made by an older extractor is recomputed; the kept feature stays.
  meta = SafetensorsFile::open(feature_file("b")).metadata();
  meta["mfcc.extractor"] = "hl mfcc v0";
  write_safetensors(feature_file("b"), {{"faces", faces}, {"mfcc", mfcc_t}}, meta);
  r = extract({in, "--features", "mfcc", "--out", out()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "1 ok, 0 skipped"));
  EXPECT_EQ(SafetensorsFile::open(feature_file("b")).metadata().at("mfcc.extractor"),
            extractor_name(Feature::Mfcc, FrameRate{30000, 1001}));
  EXPECT_EQ(out_files(), std::set<std::string>({"b.safetensors"}));
}

}  // namespace
}  // namespace hl
