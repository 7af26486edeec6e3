// Parameter initialisers (the Keras defaults the paper's model was built with), all
// drawn from the counter-based Philox stream (kernels/cpu/random.h): the same
// (seed, offset) gives the same tensor on any machine. A model gives each parameter its
// own offset range.
//
//   kernels (dense, conv):   Glorot uniform
//   recurrent kernels:       orthogonal
//   biases:                  zeros; an LSTM bias may start its forget gate at 1
//                            (Keras unit_forget_bias, its default)
#pragma once
#include <cstdint>

#include "engine/tensor.h"

namespace hl::optim {

// U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)). For shape [..., in, out]
// (dense [in, out], conv1d [k, c_in, c_out]) the receptive field r is the product of
// the leading dimensions and fan_in = r * in, fan_out = r * out, as in Keras.
Tensor glorot_uniform(const Shape& shape, uint64_t seed, uint64_t offset);

// A [rows, cols] matrix with orthonormal columns (rows >= cols) or rows (rows < cols),
// times gain. Algorithm (Keras Orthogonal / Saxe et al.): a Philox N(0, 1) matrix
// A [max, min] (row-major, stream words from offset on) is factored A = Q R with R's
// diagonal positive, i.e. NumPy's QR with Keras's sign fix q *= sign(diag(r)), here by
// modified Gram-Schmidt in double with one re-orthogonalisation pass; then Q, or Q^T
// when rows < cols, is the result. (The QR with positive diagonal is unique, so any
// correct QR gives the same matrix from the same A.) A rank-deficient A would have a
// zero column; the normal draw makes that a probability-zero event, and it throws.
Tensor orthogonal(int64_t rows, int64_t cols, uint64_t seed, uint64_t offset, float gain = 1.0f);

// The LSTM bias [4 * hidden] in gate order i, f, g, o: zeros, with the forget block
// set to 1 when unit_forget_bias.
Tensor lstm_bias(int64_t hidden, bool unit_forget_bias);

}  // namespace hl::optim
