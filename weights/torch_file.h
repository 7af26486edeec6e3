// Reading PyTorch torch.save files that hold a state dict: the zip format (PyTorch >= 1.6)
// and the legacy format (back-to-back pickles, then the raw storages), including files
// written by Python 2. Layouts and rules: docs/formats.md "PyTorch torch.save files".
//
// The pickle is read by the allowlist stack machine of torch_pickle.h (never a general
// pickle VM); every storage is checked against the file (its declared element count
// against the bytes really there) and every tensor against its storage (all addressed
// elements inside it) before anything is copied.
//
// Element types: Float, Half, BFloat16, Long, Int and Byte storages give F32, F16, BF16,
// I64, I32 and U8 tensors with the same bytes. Converted: Double -> F32 (rounded to
// nearest, as tensor.float() does; hl tensors have no f64), Short and Char (int16, int8)
// -> I32 (exact), Bool -> U8 (0 or 1).
//
// Tests: tests/weights/test_torch_file.cpp (files written by torch.save, golden),
// tests/weights/test_torch_hostile.cpp (malformed and hostile files), the fuzz target
// tests/fuzz/fuzz_torch.cpp.
#pragma once
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace hl {

struct TorchFile {
  std::string path;
  std::string format;                                   // "zip" or "legacy"
  std::vector<std::pair<std::string, Tensor>> tensors;  // file order; CPU, contiguous, owning
  std::map<std::string, std::string> other;             // non-tensor entries beside the state dict, as text (e.g. "epoch" -> "90", "arch" -> "resnet50")
};

// Reads a torch.save file holding a state dict, or a dict with a "state_dict" entry (the
// Places365 checkpoint). Names are returned as stored (prefixes such as "module." kept).
// Entries that are not tensors go to `other` as Python-like text (floats as Python prints
// them: "54.7"); non-tensor entries inside a "state_dict" entry are named
// "state_dict.<key>" there. Throws hl::FormatError naming the file and the problem.
TorchFile read_torch_file(const std::string& path);

// The same for a file already in memory; `name` stands in for the path (in errors and
// in TorchFile::path). Used by the fuzz target and the hostile-input tests.
TorchFile read_torch_bytes(std::span<const uint8_t> bytes, const std::string& name);

// By extension (.pth, .pt, .tar, .bin, any case) or by the first bytes (zip "PK\3\4" or
// a protocol-2 pickle "\x80\x02"); for hl-inspect. Reads at most 4 bytes, never throws.
bool looks_like_torch_file(const std::string& path);

}  // namespace hl
