// Inverted dropout masks from the counter-based Philox stream (kernels/common/philox.h):
// element i keeps its value, scaled by 1 / (1 - p), when the uniform number drawn from
// stream word (offset + i) of `seed` is above p, and is zeroed otherwise. Dropout is
// then x * mask forward and dy * mask backward, so the same (seed, offset) gives the
// same mask on the CPU and, later, on CUDA.
// CUDA twin: kernels/cuda/dropout.h (the same masks bit for bit).
// Tests: tests/autograd/test_init_dropout.cpp (keep rate, determinism, scale, gradient);
// tests/ops/test_op_table.cpp, rows in tests/ops/rows_elementwise.cpp and
// tests/ops/rows_lstm.cpp (the mask written out from the Philox stream); on CUDA
// tests/ops/test_op_table_cuda.cpp and tests/cuda/test_cuda_autograd.cpp (offsets past 2^32).
#pragma once
#include <cstdint>

namespace hl::cpu {

template <typename T>
void dropout_mask(uint64_t seed, uint64_t offset, T p, T* mask, int64_t n);

// y[b, t, f] = x[b, t, f] * mask[b, f]: one mask per sequence, the same at every step
// (the LSTM's input dropout). Also its own backward (dx = dy * mask). y may alias x.
void mul_mask_over_time_f32(const float* x, const float* mask, float* y, int64_t batch, int64_t time,
                            int64_t features);

}  // namespace hl::cpu
