// libFuzzer target for the TensorFlow V2 checkpoint reader (weights/tf_checkpoint.h).
// An input is [u32 little-endian n][n bytes: the .index table][the rest: the data of
// every shard] (n beyond the input is clamped). When the index is accepted every tensor
// is read (CRC checked) and converted to f32 where its dtype allows, so that anything
// the validation lets through is really read (ASan sees an out-of-bounds copy at once).
// hl::Error is the only outcome allowed besides success: anything else (another
// exception, a crash, a leak, a hang, undefined behaviour) is a finding.
//
// Built as a fuzzer by tests/fuzz/CMakeLists.txt (HL_FUZZ=ON, clang) and, without
// libFuzzer, into test_tf_checkpoint_hostile, which replays the seed corpus
// tests/fuzz/corpus/tf_checkpoint/ (made by tests/fuzz/make_tf_seed_corpus.py).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "weights/tf_checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static volatile uint64_t sink = 0;
  if (size < 4) return 0;
  const size_t declared = size_t{data[0]} | size_t{data[1]} << 8 | size_t{data[2]} << 16 | size_t{data[3]} << 24;
  const size_t n = std::min(declared, size - 4);
  try {
    const hl::TfCheckpoint ckpt = hl::TfCheckpoint::from_memory(std::span<const uint8_t>(data + 4, n),
                                                                std::span<const uint8_t>(data + 4 + n, size - 4 - n),
                                                                "fuzz-input");
    uint64_t h = 0;
    for (const auto& t : ckpt.tensors()) {
      try {
        const auto bytes = ckpt.read_bytes(t.name);
        for (uint8_t b : bytes) h = (h ^ b) * 0x100000001b3ull;
        const hl::Tensor f = ckpt.read_f32(t.name);
        h += static_cast<uint64_t>(f.numel());
      } catch (const hl::Error&) {
        // A tensor with a bad CRC or a dtype that is not converted: expected.
      }
    }
    sink = sink + h;
  } catch (const hl::Error&) {
    // A rejected index: the expected outcome for most inputs.
  }
  return 0;
}
