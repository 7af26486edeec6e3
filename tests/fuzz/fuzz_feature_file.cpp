// libFuzzer target for feature files read through the segment dataset
// (pipeline/segment_dataset.h), as hl-train reads them: every input is written as the
// feature file of one video, the dataset is opened with labels for one and for three
// segments and, for each single feature and for all six, every segment is assembled
// into a batch, the input statistics are computed over them and the batch is assembled
// again, standardised. hl::Error is the only outcome allowed besides success: anything
// else (another exception, a crash, a leak, undefined behaviour) is a finding.
//
// Built as a fuzzer by tests/fuzz/CMakeLists.txt (HL_FUZZ=ON, clang) and, without
// libFuzzer, into test_fuzz_feature_corpus_replay (tests/pipeline), which runs the seed
// corpus tests/fuzz/corpus/features in every test run.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

#include "engine/error.h"
#include "pipeline/input_statistics.h"
#include "pipeline/segment_dataset.h"

namespace {

// A private folder for the input file, made once per process and removed at exit. The
// string is never destroyed: the exit handler runs after static destructors would have.
const std::string& input_dir() {
  static const std::string* dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    auto* pattern = new std::string(std::string(tmp && *tmp ? tmp : "/tmp") + "/hl-fuzz-features.XXXXXX");
    if (!::mkdtemp(pattern->data())) std::abort();
    std::atexit([] { std::filesystem::remove_all(input_dir()); });
    return pattern;
  }();
  return *dir;
}

uint64_t fold(uint64_t h, const float* p, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    uint32_t u;
    std::memcpy(&u, p + i, 4);
    h = (h ^ u) * 0x100000001b3ull;
  }
  return h;
}

uint64_t fold(uint64_t h, const hl::SegmentBatch& b) {
  for (const auto& [f, t] : b.inputs) h = fold(h, t.data<float>(), t.numel());
  return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static volatile uint64_t sink = 0;
  {
    std::ofstream out(input_dir() + "/v.safetensors", std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    if (!out) std::abort();  // the fuzzer's own disk, not the input: stop loudly
  }
  std::vector<std::vector<hl::Feature>> uses;
  for (hl::Feature f : hl::all_features()) uses.push_back({f});
  uses.push_back(hl::all_features());
  uint64_t h = 0xcbf29ce484222325ull;
  for (const size_t segments : {size_t{1}, size_t{3}}) {
    const hl::SegmentScores labels = {{"v", std::vector<double>(segments, 1.0)}};
    for (const auto& use : uses) {
      try {
        const hl::SegmentDataset ds = hl::SegmentDataset::open(input_dir(), labels, use, "fuzz-labels");
        std::vector<size_t> all(ds.size());
        std::iota(all.begin(), all.end(), size_t{0});
        h = fold(h, ds.batch(all));
        const hl::InputNormalisation norm = hl::compute_input_normalisation(ds, all);
        h = fold(h, ds.batch(all, hl::Device::cpu(), norm));
      } catch (const hl::Error&) {
        // A refused file (or statistics that are not finite): the expected outcome for most inputs.
      }
    }
  }
  sink = sink + h;
  return 0;
}
