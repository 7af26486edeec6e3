// libFuzzer target for the safetensors reader: every input is parsed as a whole file,
// and when it is accepted every tensor is read through both get() and bytes(), so that
// any byte range the validator lets through is actually touched (ASan sees an
// out-of-bounds view at once). hl::Error is the only outcome allowed besides success:
// anything else (another exception, a crash, a leak, undefined behaviour) is a finding.
//
// Built as a fuzzer by tests/fuzz/CMakeLists.txt (HL_FUZZ=ON, clang) and, without
// libFuzzer, into test_fuzz_corpus_replay, which runs the seed corpus in every test run.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "engine/safetensors.h"

namespace {

// Folds bytes into a value the optimiser cannot drop.
uint64_t fold(uint64_t h, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static volatile uint64_t sink = 0;
  try {
    const auto file = hl::SafetensorsFile::from_bytes(std::vector<uint8_t>(data, data + size), "fuzz-input");
    uint64_t h = 0xcbf29ce484222325ull;
    for (const auto& [k, v] : file.metadata()) h = fold(fold(h, reinterpret_cast<const uint8_t*>(k.data()), k.size()),
                                                        reinterpret_cast<const uint8_t*>(v.data()), v.size());
    for (const auto& info : file.tensors()) {
      const auto raw = file.bytes(info.name);
      h = fold(h, raw.data(), raw.size());
      try {
        const hl::Tensor t = file.get(info.name);
        h = fold(h, static_cast<const uint8_t*>(t.raw()), t.nbytes());
      } catch (const hl::Error&) {
        // dtypes or ranks a Tensor cannot hold: refused by get(), still readable by bytes().
      }
    }
    sink = sink + h;
  } catch (const hl::Error&) {
    // A rejected file: the expected outcome for most inputs.
  }
  return 0;
}
