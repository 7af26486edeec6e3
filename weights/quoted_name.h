// A name read from an untrusted weight file (a tensor or entry name), as text for an
// error message: in single quotes, control bytes escaped as \xNN, cut after max_bytes
// with "...". Shared by the readers (weights/torch_file.cpp, weights/tf_checkpoint.cpp)
// so a hostile name cannot put raw control characters on a user's terminal.
// Tests: through the readers' hostile-input tests (TorchHostile.*, TfCheckpointHostile.*).
#pragma once
#include <cstddef>
#include <string>

namespace hl {

std::string quoted_name(const std::string& name, size_t max_bytes);

}  // namespace hl
