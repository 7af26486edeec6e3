// Replays the fuzz seed corpus (tests/fuzz/corpus/safetensors) through the fuzz target's
// entry point, compiled here without libFuzzer, so every test run re-checks each input
// the fuzzer ever found interesting enough to keep. Files named valid_* must be
// accepted and files named bad_* rejected, so the corpus keeps covering both paths;
// other files (e.g. finding_*: inputs that once crashed the fuzzer) only have to run.
#include <algorithm>
#include <filesystem>

#include "engine/safetensors.h"
#include "support/test_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace hl {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> corpus_files() { return test::fuzz_corpus_files("safetensors"); }

TEST(FuzzCorpusReplay, EveryCorpusFileRunsCleanly) {
  const auto files = corpus_files();
  ASSERT_GE(files.size(), 10u) << "the seed corpus is missing or nearly empty";
  for (const auto& path : files) {
    SCOPED_TRACE(path.filename().string());
    const auto bytes = test::read_file(path.string());
    EXPECT_LE(bytes.size(), 4096u) << "corpus files stay small";
    EXPECT_EQ(LLVMFuzzerTestOneInput(bytes.data(), bytes.size()), 0);
  }
}

TEST(FuzzCorpusReplay, ValidFilesAcceptedBadFilesRejected) {
  int valid = 0, bad = 0;
  for (const auto& path : corpus_files()) {
    const std::string name = path.filename().string();
    SCOPED_TRACE(name);
    const auto bytes = test::read_file(path.string());
    if (name.rfind("valid_", 0) == 0) {
      EXPECT_NO_THROW(SafetensorsFile::from_bytes(bytes, name));
      ++valid;
    } else if (name.rfind("bad_", 0) == 0) {
      EXPECT_THROW(SafetensorsFile::from_bytes(bytes, name), FormatError);
      ++bad;
    }
  }
  EXPECT_GE(valid, 3);
  EXPECT_GE(bad, 5);
}

}  // namespace
}  // namespace hl
