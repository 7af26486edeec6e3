// Replays the media fuzz seed corpus (tests/fuzz/corpus/media, made by
// tests/fuzz/make_media_seed_corpus.sh) through the fuzz target's entry point
// (tests/fuzz/fuzz_media.cpp), compiled here without libFuzzer, so every test run
// re-checks each input the fuzzer keeps. Files named valid_* must be probed and
// decoded and bad_* refused (by the probe or the decoding) with hl::FormatError, so the
// corpus covers both paths;
// others (finding_*: inputs that once made the fuzzer fail) only have to run.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/media/media.h"
#include "support/test_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace hl {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> corpus_files() { return test::fuzz_corpus_files("media"); }

// The fuzz target's caps that matter for accepting or refusing a seed (1 Mpixel frames).
media::Limits fuzz_caps() {
  media::Limits l;
  l.max_pixels = 1024 * 1024;
  return l;
}

TEST(MediaFuzzCorpusReplay, EveryCorpusFileRunsCleanly) {
  const auto files = corpus_files();
  ASSERT_GE(files.size(), 20u) << "the media seed corpus is missing or nearly empty";
  for (const auto& path : files) {
    SCOPED_TRACE(path.filename().string());
    const auto bytes = test::read_file(path.string());
    EXPECT_LE(bytes.size(), 16384u) << "corpus files stay small";
    EXPECT_EQ(LLVMFuzzerTestOneInput(bytes.data(), bytes.size()), 0);
  }
}

// Probes `path` and decodes its first video frame and its first audio stream, as the
// fuzz target does (without its output size); throws what they throw.
void probe_and_decode(const std::string& path) {
  const media::MediaInfo info = media::probe(path, fuzz_caps());
  if (!info.video && info.audio.empty()) throw Error(path + ": probed without video or audio");
  if (info.video) {
    media::VideoOptions vo;
    vo.limits = fuzz_caps();
    media::VideoReader reader(path, vo);
    media::VideoFrame f;
    if (!reader.next(&f)) throw Error(path + ": no video frame");
  }
  if (!info.audio.empty()) {
    media::AudioOptions ao;
    ao.limits = fuzz_caps();
    (void)media::decode_audio(path, ao);
  }
}

TEST(MediaFuzzCorpusReplay, ValidFilesAcceptedBadFilesRejected) {
  int valid = 0, bad = 0;
  for (const auto& path : corpus_files()) {
    const std::string name = path.filename().string();
    SCOPED_TRACE(name);
    if (name.rfind("valid_", 0) == 0) {
      try {
        probe_and_decode(path.string());
      } catch (const Error& e) {
        ADD_FAILURE() << e.what();
      }
      ++valid;
    } else if (name.rfind("bad_", 0) == 0) {
      EXPECT_THROW(probe_and_decode(path.string()), FormatError);
      ++bad;
    }
  }
  EXPECT_GE(valid, 15);
  EXPECT_GE(bad, 4);
}

// The fuzz target hands its bytes over as an in-memory file opened by its /proc path;
// if that path were refused, every input would be "rejected cleanly" and the fuzzer
// would test nothing. A valid seed through the same path is accepted and decoded.
TEST(MediaFuzzCorpusReplay, InMemoryFileIsReadLikeAFile) {
  const auto bytes = test::read_file((test::source_dir() / "tests/fuzz/corpus/media/valid_h264_aac.mp4").string());
  const int fd = ::memfd_create("hl-test-media", MFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  const media::MediaInfo info = media::probe(path, fuzz_caps());
  ASSERT_TRUE(info.video.has_value());
  EXPECT_EQ(info.video->width, 16);
  EXPECT_EQ(info.video->height, 16);
  ASSERT_EQ(info.audio.size(), 1u);
  media::VideoReader reader(path);
  media::VideoFrame f;
  EXPECT_TRUE(reader.next(&f));
  ::close(fd);
}

}  // namespace
}  // namespace hl
