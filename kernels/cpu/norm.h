// Layer normalisation over the last dimension of x [rows, n], with gain g [n] and
// bias b [n], templated on the element type. Two definitions:
//   Standard (PyTorch nn.LayerNorm): y = g (x - mean) / sqrt(var + eps) + b, var the
//     population variance (divide by n).
//   VasnetStd (VASNet's LayerNorm): y = g (x - mean) / (std + eps) + b, std the unbiased
//     standard deviation (divide by n - 1; n must be >= 2) and eps added to it, not to
//     the variance.
// The backward pass recomputes the row statistics from x instead of keeping them.
// CUDA twin: kernels/cuda/norm.h.
// Tests: tests/ops/test_op_table.cpp, rows in tests/ops/rows_norm.cpp (both formulas in
// double; finite differences in double); tests/autograd/test_autograd_golden.cpp (PyTorch
// F.layer_norm and the VASNet formula written in PyTorch); on CUDA
// tests/ops/test_op_table_cuda.cpp.
#pragma once
#include <cstdint>

namespace hl::cpu {

enum class LayerNormKind { Standard, VasnetStd };

template <typename T>
void layer_norm_forward(LayerNormKind kind, const T* x, const T* g, const T* b, T* y, int64_t rows, int64_t n, T eps);
// dx, dg, db overwritten; any may be null.
template <typename T>
void layer_norm_backward(LayerNormKind kind, const T* x, const T* g, const T* dy, T* dx, T* dg, T* db, int64_t rows,
                         int64_t n, T eps);

}  // namespace hl::cpu
