// Max pooling over time, window 2 and stride 2 (the MFCC branch), on x [batch, time,
// channels] (channels last, as the features are stored): y [batch, time / 2, channels]
// (a trailing odd step is dropped, like PyTorch and Keras 'valid' pooling).
// Ties and the backward pass: the gradient goes to the first of the two maxima, as in
// PyTorch's CPU max_pool1d; NaN wins.
// CUDA twin: kernels/cuda/pool.h.
// Tests: tests/ops/test_op_table.cpp, rows in tests/ops/rows_conv.cpp (double loops;
// finite differences in double); tests/autograd/test_autograd_golden.cpp (PyTorch
// F.max_pool1d); on CUDA tests/ops/test_op_table_cuda.cpp and
// tests/cuda/test_cuda_autograd.cpp (ties).
#pragma once
#include <cstdint>

namespace hl::cpu {

template <typename T>
void maxpool1d_2_forward(const T* x, T* y, int64_t batch, int64_t time, int64_t channels);
// dx is overwritten (zeros where no gradient goes).
template <typename T>
void maxpool1d_2_backward(const T* x, const T* dy, T* dx, int64_t batch, int64_t time, int64_t channels);

}  // namespace hl::cpu
