// libFuzzer target for MultisensoryCpu::load (nets/multisensory.h): a
// multisensory-cam.safetensors from untrusted input, i.e. its metadata (hl.net,
// hl.width_divisor), tensor names, shapes, dtypes and data offsets, then the silent clip
// load() runs through the net to check every tensor it reads.
//
// An input is [u32 LE n][u32 LE data length L][n bytes: the safetensors JSON header][the
// rest: the first bytes of the data section]. The file loaded is
// [u64 LE n][header][data, zero-extended or cut to L bytes], L capped at 4 MiB, so a
// small input can describe the whole converted network (the real fixture's weights are
// 158 KB; zero weights run the same code), and the fuzzer spends its mutations on the
// header, where the checks are. n beyond the input is clamped.
// hl::Error is the only outcome allowed besides success: anything else (another
// exception, a crash, a leak, a hang, undefined behaviour) is a finding.
//
// load() reads a path (nets/multisensory.cpp), so each input is written to a file of its
// own process in the temporary directory and removed after.
//
// Built as a fuzzer by tests/fuzz/CMakeLists.txt (HL_FUZZ=ON, clang) and, without
// libFuzzer, into test_multisensory_fuzz_corpus_replay, which replays the seed corpus
// tests/fuzz/corpus/multisensory/ (made by tests/fuzz/make_multisensory_seed_corpus.py).
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/error.h"
#include "nets/multisensory.h"

namespace {

constexpr size_t kMaxData = size_t{4} << 20;  // 4 MiB: ample for a 1/32-width net, bounds memory and time

uint32_t read_u32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

// [u64 LE n][header][data] as described above.
std::vector<uint8_t> safetensors_bytes(const uint8_t* data, size_t size) {
  const size_t n = std::min<size_t>(read_u32(data), size - 8);
  const size_t data_len = std::min<size_t>(read_u32(data + 4), kMaxData);
  std::vector<uint8_t> file(8 + n + data_len, 0);
  for (int i = 0; i < 8; ++i) file[i] = static_cast<uint8_t>(static_cast<uint64_t>(n) >> (8 * i));
  std::copy_n(data + 8, n, file.begin() + 8);
  const size_t given = std::min(size - 8 - n, data_len);
  std::copy_n(data + 8 + n, given, file.begin() + 8 + static_cast<std::ptrdiff_t>(n));
  return file;
}

const std::string& scratch_path() {
  static const std::string path =
      (std::filesystem::temp_directory_path() / ("hl-fuzz-multisensory-" + std::to_string(::getpid()) + ".safetensors"))
          .string();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static volatile float sink = 0.0f;
  if (size < 8) return 0;
  const std::vector<uint8_t> file = safetensors_bytes(data, size);
  const std::string& path = scratch_path();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
    if (!out) return 0;  // the temporary directory is full: nothing to test
  }
  try {
    const hl::MultisensoryCpu net = hl::MultisensoryCpu::load(path);
    sink = sink + static_cast<float>(net.width_divisor()) + (net.cam_model() ? 1.0f : 0.0f);
  } catch (const hl::Error&) {
    // A refused file: the expected outcome for most inputs.
  }
  std::error_code ignored;
  std::filesystem::remove(path, ignored);
  return 0;
}
