// Replays the seed corpus of fuzz_multisensory_load (tests/fuzz/corpus/multisensory, made
// by tests/fuzz/make_multisensory_seed_corpus.py) through the fuzz target's entry point,
// compiled here without libFuzzer, so every test run re-checks each input. Files named
// valid_* must load and bad_* be refused with an hl::FormatError naming the file, as
// nets/multisensory.h promises (a dtype hl tensors cannot hold, e.g. bad_dtype_f64, used
// to escape as SafetensorsFile::get's plain hl::Error); other
// files (finding_*: inputs that once broke a promise) only have to run cleanly.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/error.h"
#include "nets/multisensory.h"
#include "support/test_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace hl {
namespace {

namespace fs = std::filesystem;

uint32_t u32_at(const std::vector<uint8_t>& b, size_t at) {
  return uint32_t{b[at]} | uint32_t{b[at + 1]} << 8 | uint32_t{b[at + 2]} << 16 | uint32_t{b[at + 3]} << 24;
}

// The safetensors file an input stands for, written as the target's format says:
// [u64 LE n][header][data prefix zero-extended to L] (a well-formed seed: n and the data
// fit in the input and L).
std::string write_as_file(const std::vector<uint8_t>& input, const test::TempDir& dir, const std::string& name) {
  EXPECT_GE(input.size(), 8u) << name;
  const uint32_t n = u32_at(input, 0), data_len = u32_at(input, 4);
  EXPECT_LE(size_t{n} + 8, input.size()) << name;
  std::vector<uint8_t> file(8 + size_t{n} + data_len, 0);
  for (int i = 0; i < 8; ++i) file[i] = static_cast<uint8_t>(uint64_t{n} >> (8 * i));
  std::copy_n(input.begin() + 8, n, file.begin() + 8);
  const size_t given = std::min<size_t>(input.size() - 8 - n, data_len);
  std::copy_n(input.begin() + 8 + n, given, file.begin() + 8 + n);
  const std::string path = dir.file(name + ".safetensors");
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(file.data()),
                                              static_cast<std::streamsize>(file.size()));
  return path;
}

std::vector<fs::path> corpus_files() { return test::fuzz_corpus_files("multisensory"); }

TEST(MultisensoryFuzzCorpusReplay, EveryCorpusFileRunsCleanly) {
  const auto files = corpus_files();
  ASSERT_GE(files.size(), 20u) << "the seed corpus is missing or nearly empty";
  for (const auto& path : files) {
    SCOPED_TRACE(path.filename().string());
    const auto bytes = test::read_file(path.string());
    EXPECT_LE(bytes.size(), 16384u) << "corpus files stay small";
    EXPECT_EQ(LLVMFuzzerTestOneInput(bytes.data(), bytes.size()), 0);
  }
}

TEST(MultisensoryFuzzCorpusReplay, ValidFilesLoadBadFilesAreRefusedByName) {
  test::TempDir dir;
  int valid = 0, bad = 0;
  for (const auto& path : corpus_files()) {
    const std::string name = path.filename().string();
    SCOPED_TRACE(name);
    const std::string file = write_as_file(test::read_file(path.string()), dir, name);
    if (name.rfind("valid_", 0) == 0) {
      EXPECT_NO_THROW(MultisensoryCpu::load(file));
      ++valid;
    } else if (name.rfind("bad_", 0) == 0) {
      try {
        MultisensoryCpu::load(file);
        ADD_FAILURE() << "loaded";
      } catch (const FormatError& e) {
        EXPECT_NE(std::string(e.what()).find(name + ".safetensors"), std::string::npos) << e.what();
      } catch (const Error& e) {
        ADD_FAILURE() << "refused with a plain hl::Error, not a FormatError: " << e.what();
      }
      ++bad;
    }
  }
  EXPECT_GE(valid, 3);
  EXPECT_GE(bad, 20);
}

}  // namespace
}  // namespace hl
