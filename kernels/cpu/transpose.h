// Batched transpose of the last two dimensions: x [batch, rows, cols] -> y [batch, cols, rows].
// Works on any element size (bytes); y must not alias x.
#pragma once
#include <cstddef>
#include <cstdint>

namespace hl::cpu {

void transpose(const void* x, void* y, int64_t batch, int64_t rows, int64_t cols, size_t element_size);

}  // namespace hl::cpu
