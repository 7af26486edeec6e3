// libFuzzer target for the PyTorch reader (weights/torch_file.h): every input is read as
// a whole torch.save file (zip or legacy, by its first bytes), and when it is accepted
// every tensor's bytes and every `other` entry are touched, so that anything the
// validation lets through is really read (ASan sees an out-of-bounds copy at once).
// hl::Error is the only outcome allowed besides success: anything else (another
// exception, a crash, a leak, a hang, undefined behaviour) is a finding.
//
// Built as a fuzzer by tests/fuzz/CMakeLists.txt (HL_FUZZ=ON, clang) and, without
// libFuzzer, into test_torch_hostile, which replays the seed corpus
// tests/fuzz/corpus/torch/ in every test run.
#include <cstddef>
#include <cstdint>
#include <span>

#include "weights/torch_file.h"

namespace {

// Folds bytes into a value the optimiser cannot drop.
uint64_t fold(uint64_t h, const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static volatile uint64_t sink = 0;
  try {
    const hl::TorchFile file = hl::read_torch_bytes(std::span<const uint8_t>(data, size), "fuzz-input");
    uint64_t h = 0xcbf29ce484222325ull;
    for (const auto& [k, v] : file.other) h = fold(fold(h, k.data(), k.size()), v.data(), v.size());
    for (const auto& [name, t] : file.tensors) h = fold(fold(h, name.data(), name.size()), t.raw(), t.nbytes());
    sink = sink + h;
  } catch (const hl::Error&) {
    // A rejected file: the expected outcome for most inputs.
  }
  return 0;
}
