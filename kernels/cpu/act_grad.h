// Activations and the backward passes of the elementwise ops, templated on the element
// type (float for training, double for the finite-difference checks). The f32 forward
// that training uses is kernels/cpu/elementwise (through hl::ops); activation_forward
// here is the same function in any precision, for the double-precision checks.
// CUDA twin: kernels/cuda/act_grad.h.
// Tests: tests/ops/test_op_table.cpp, rows in tests/ops/rows_elementwise.cpp and
// tests/ops/rows_shape.cpp (sum/mean) (double loops; finite differences in double);
// tests/autograd/test_autograd_golden.cpp (PyTorch, through hl::ag); on CUDA
// tests/ops/test_op_table_cuda.cpp and tests/cuda/test_cuda_autograd.cpp (bit for bit).
#pragma once
#include <cstdint>

namespace hl::cpu {

enum class Activation { Relu, Sigmoid, Tanh };

template <typename T>
void activation_forward(Activation kind, const T* x, T* y, int64_t n);

// dx = dy * f'(x), from the forward's output y alone: ReLU passes dy where y > 0 (which
// is where x > 0, so f'(0) = 0 like PyTorch; a NaN x gives y = 0 and dx = 0 either way),
// sigmoid and tanh use y (1 - y) and 1 - y². Reading y rather than x lets the autograd
// node keep only the output, so a pre-activation (a dense or conv layer's [B, T, C]
// output) is freed as soon as the activation has run (issue 18: training memory).
template <typename T>
void activation_backward(Activation kind, const T* y, const T* dy, T* dx, int64_t n);

// dx[o, j, i] = alpha * dy[o, i] for j in [0, n): the backward of a sum (alpha = 1) or
// mean (alpha = 1/n) over the middle dimension of [outer, n, inner].
template <typename T>
void broadcast_middle(const T* dy, T* dx, int64_t outer, int64_t n, int64_t inner, T alpha);

}  // namespace hl::cpu
