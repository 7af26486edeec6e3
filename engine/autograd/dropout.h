// Inverted dropout with a deterministic Philox mask (kernels/cpu/dropout.h).
#pragma once
#include <cstdint>

#include "engine/autograd/variable.h"

namespace hl::ag {

// Where the mask's random numbers come from: element i of the mask uses word
// (offset + i) of the Philox stream for seed. A training loop advances offset by the
// mask size after each use so that no two masks share numbers.
struct DropoutRng {
  uint64_t seed = 0;
  uint64_t offset = 0;
};

// The mask itself ([shape], values 0 or 1 / (1 - p)), for callers that must reuse one
// mask several times (the LSTM's masks fixed over the sequence).
Tensor dropout_mask(const Shape& shape, float p, DropoutRng rng);

// training: x * mask; evaluation (training false) or p == 0: x itself.
Variable dropout(const Variable& x, float p, bool training, DropoutRng rng);

}  // namespace hl::ag
