// Replays the seed corpus of the feature-file fuzz target (tests/fuzz/corpus/features,
// written by tests/fuzz/make_feature_seed_corpus.py with the reference safetensors
// package) through the target's entry point, compiled here without libFuzzer, so every
// test run re-checks each input the fuzzer kept. Files named valid_* must open with the
// features they hold and give batches; bad_* must be refused with an hl::Error (at open
// or in the batch); other files (finding_*: inputs that once failed the fuzzer) only
// have to run.
#include <algorithm>
#include <filesystem>

#include "engine/error.h"
#include "engine/safetensors.h"
#include "pipeline/segment_dataset.h"
#include "support/test_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace hl {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> corpus_files() { return test::fuzz_corpus_files("features"); }

TEST(FuzzFeatureCorpusReplay, EveryCorpusFileRunsCleanly) {
  const auto files = corpus_files();
  ASSERT_GE(files.size(), 10u) << "the seed corpus is missing or nearly empty";
  for (const auto& path : files) {
    SCOPED_TRACE(path.filename().string());
    const auto bytes = test::read_file(path.string());
    EXPECT_LE(bytes.size(), 8192u) << "corpus files stay small";
    EXPECT_EQ(LLVMFuzzerTestOneInput(bytes.data(), bytes.size()), 0);
  }
}

// Opens the file as video "v" with labels for `segments` segments, using the feature
// tensors it holds, and assembles every segment.
void open_and_batch(const fs::path& file, size_t segments) {
  test::TempDir dir;
  fs::copy_file(file, dir.file("v.safetensors"));
  std::vector<Feature> use;
  const SafetensorsFile st = SafetensorsFile::open(dir.file("v.safetensors"));
  for (Feature f : all_features())
    if (st.contains(feature_spec(f).name)) use.push_back(f);
  const SegmentDataset ds = SegmentDataset::open(dir.path().string(), {{"v", std::vector<double>(segments, 1.0)}}, use);
  std::vector<size_t> all(ds.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  (void)ds.batch(all);
}

TEST(FuzzFeatureCorpusReplay, ValidFilesGiveBatchesBadFilesAreRefused) {
  int valid = 0, bad = 0;
  for (const auto& path : corpus_files()) {
    const std::string name = path.filename().string();
    SCOPED_TRACE(name);
    if (name.rfind("valid_", 0) == 0) {
      EXPECT_NO_THROW(open_and_batch(path, 3));
      ++valid;
    } else if (name.rfind("bad_", 0) == 0) {
      EXPECT_THROW(open_and_batch(path, 3), Error);
      ++bad;
    }
  }
  EXPECT_GE(valid, 4);
  EXPECT_GE(bad, 10);
}

}  // namespace
}  // namespace hl
