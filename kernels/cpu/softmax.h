// Softmax over the middle dimension of x [outer, n, inner] (row-major), the layout of
// "softmax along dim d" once the dimensions before d are folded into outer and those
// after it into inner. Max-subtracted for range; sums in double.
// backward: dx = y * (dy - sum_j dy_j y_j), reading the forward output y.
// Tests: tests/autograd (finite differences in double; PyTorch torch.softmax).
#pragma once
#include <cstdint>

namespace hl::cpu {

template <typename T>
void softmax_forward(const T* x, T* y, int64_t outer, int64_t n, int64_t inner);
template <typename T>
void softmax_backward(const T* y, const T* dy, T* dx, int64_t outer, int64_t n, int64_t inner);

}  // namespace hl::cpu
