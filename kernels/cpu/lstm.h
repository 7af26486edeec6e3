// One direction of an LSTM over a whole sequence, forward and backward through time,
// templated on the element type. Keras layout and gate order (i, f, g, o):
//   x [batch, time, input] (batch first), w [input, 4 hidden], u [hidden, 4 hidden],
//   b [4 hidden] (one bias per gate: PyTorch's bias_ih with bias_hh = 0; PyTorch's
//   weight_ih / weight_hh are w^T / u^T)
//   z_t = x_t w + (h_{t-1} * r) u + b,  i, f, o = sigmoid(z), g = tanh(z)
//   c_t = f c_{t-1} + i g,  h_t = o tanh(c_t),  h and c start at zero.
// r [batch, hidden] is the recurrent dropout mask (null: none), the same at every step
// (Gal & Ghahramani); input dropout is the caller's x * mask. reverse runs t from
// time - 1 down to 0 (the backward direction of a bidirectional LSTM); outputs stay
// at their own time index either way.
// The input products x w for all steps are one GEMM; each step is one [batch, hidden] x
// [hidden, 4 hidden] GEMM. The backward pass keeps gradients of z for all steps and
// finishes dw, db and dx with one GEMM each.
// CUDA twin: kernels/cuda/lstm.h (both directions in one launch, h <= 64).
// Tests: tests/ops/test_op_table.cpp, rows in tests/ops/rows_lstm.cpp (the recurrence in
// double; finite differences in double); tests/kernels/test_lstm_tiny_gradients.cpp
// (flushed denormal gradients); tests/autograd/test_lstm_golden.cpp (torch.nn.LSTM); on
// CUDA tests/cuda/test_cuda_autograd_lstm.cpp and tests/ops/test_op_table_cuda.cpp.
#pragma once
#include <cstdint>

namespace hl::cpu {

struct LstmShape {
  int64_t batch = 0, time = 0, input = 0, hidden = 0;
  bool reverse = false;
};

// Writes hs, cs [batch, time, hidden] and the activated gates [batch, time, 4 hidden]
// (i, f, g, o), which the backward pass reads.
template <typename T>
void lstm_forward(const LstmShape& s, const T* x, const T* w, const T* u, const T* b, const T* r, T* hs, T* cs,
                  T* gates);

// dhs [batch, time, hidden]: the gradient reaching each output h_t from outside (zeros
// where none). dx, dw, du, db are overwritten; any may be null.
template <typename T>
void lstm_backward(const LstmShape& s, const T* x, const T* w, const T* u, const T* r, const T* hs, const T* cs,
                   const T* gates, const T* dhs, T* dx, T* dw, T* du, T* db);

}  // namespace hl::cpu
