// Where converted weight files live. One rule for every tool: the folder given with
// --weights DIR, else $HL_WEIGHTS, else the per-user data folder
// ($XDG_DATA_HOME/hl/weights, or ~/.local/share/hl/weights).
#pragma once
#include <filesystem>
#include <string>

namespace hl {

// `explicit_dir` is the --weights value ("" when not given).
std::filesystem::path weights_dir(const std::string& explicit_dir = "");

// The path of `file_name` (e.g. "googlenet.safetensors") in the weights folder. Throws
// hl::Error naming the path and the command that creates it (`make_hint`) when the
// file does not exist.
std::filesystem::path require_weights_file(const std::string& file_name, const std::string& make_hint,
                                           const std::string& explicit_dir = "");

}  // namespace hl
