// Replays the seed corpus of fuzz_csv (tests/fuzz/corpus/csv) through the fuzz target's
// entry point, compiled here without libFuzzer, so every test run re-checks each input
// and the promises the target checks. Files named valid_* must be accepted and bad_*
// refused by the reader their first byte picks ('0' labels, '1' predictions, '2'
// annotations); other files (e.g. finding_*: inputs that once broke a promise) only
// have to run.
#include <algorithm>
#include <filesystem>

#include "engine/error.h"
#include "engine/segment_scores.h"
#include "support/test_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace hl {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> corpus_files() { return test::fuzz_corpus_files("csv"); }

// Reads `bytes` as the fuzz target does; throws what the reader throws.
void read_as_the_target_does(const std::vector<uint8_t>& bytes, const std::string& name) {
  ASSERT_FALSE(bytes.empty()) << name;
  const std::string text(bytes.begin() + 1, bytes.end());
  const int reader = bytes[0] % 3;
  if (reader == 2)
    (void)parse_annotations(text, name);
  else
    (void)parse_segment_scores(text, name, reader == 0 ? ScoreKind::Labels : ScoreKind::Predictions);
}

TEST(CsvFuzzCorpusReplay, EveryCorpusFileRunsCleanly) {
  const auto files = corpus_files();
  ASSERT_GE(files.size(), 20u) << "the seed corpus is missing or nearly empty";
  for (const auto& path : files) {
    SCOPED_TRACE(path.filename().string());
    const auto bytes = test::read_file(path.string());
    EXPECT_LE(bytes.size(), 4096u) << "corpus files stay small";
    EXPECT_EQ(LLVMFuzzerTestOneInput(bytes.data(), bytes.size()), 0);
  }
}

TEST(CsvFuzzCorpusReplay, ValidFilesAcceptedBadFilesRefused) {
  int valid = 0, bad = 0;
  for (const auto& path : corpus_files()) {
    const std::string name = path.filename().string();
    SCOPED_TRACE(name);
    const auto bytes = test::read_file(path.string());
    if (name.rfind("valid_", 0) == 0) {
      EXPECT_NO_THROW(read_as_the_target_does(bytes, name));
      ++valid;
    } else if (name.rfind("bad_", 0) == 0) {
      EXPECT_THROW(read_as_the_target_does(bytes, name), FormatError);
      ++bad;
    }
  }
  EXPECT_GE(valid, 5);
  EXPECT_GE(bad, 15);
}

}  // namespace
}  // namespace hl
