// Differentiable LSTM (one direction) and the bidirectional wrapper of the highlight
// model. Layout, gate order and equations: kernels/cpu/lstm.h (Keras: one bias per gate).
#pragma once
#include <cstdint>

#include "engine/autograd/dropout.h"
#include "engine/autograd/variable.h"

namespace hl::ag {

struct LstmParams {
  Variable kernel;     // [input, 4 hidden], gates i, f, g, o
  Variable recurrent;  // [hidden, 4 hidden]
  Variable bias;       // [4 hidden]
};

// Dropout masks fixed over the sequence (values 0 or 1 / (1 - p)); undefined = none.
// As in Keras's LSTM (implementation 2, the default), one input mask multiplies x_t and
// one recurrent mask multiplies h_{t-1}, shared by the four gates.
struct LstmMasks {
  Tensor input;      // [batch, input]
  Tensor recurrent;  // [batch, hidden]
};

struct LstmResult {
  Variable hs;   // [batch, time, hidden], h at every step (at its own time index)
  Tensor c_last;  // [batch, hidden], the final cell state (not differentiable)
};

// x [batch, time, input]. reverse: run from the last step to the first.
LstmResult lstm(const Variable& x, const LstmParams& p, bool reverse, const LstmMasks& masks = {});

struct BiLstmOptions {
  float input_dropout = 0.0f;      // the paper's model: 0.2 each (specs/paper.md)
  float recurrent_dropout = 0.0f;
  bool training = false;           // masks only when training
  DropoutRng rng;                  // forward direction's masks from rng.offset on, then the backward's
  bool full_sequence = false;      // [batch, time, 2 hidden] instead of [batch, 2 hidden]
};

// The masks of one direction drawn from rng (see BiLstmOptions); undefined when p is 0
// or not training. Uses batch * (input + hidden) stream words from rng.offset.
LstmMasks lstm_masks(int64_t batch, int64_t input, int64_t hidden, const BiLstmOptions& o, uint64_t offset);

// Last forward state || last backward state (the backward direction's state after it has
// read the whole sequence, i.e. at time 0): [batch, 2 hidden]; or, with full_sequence,
// both directions' h at every step: [batch, time, 2 hidden] (PyTorch's output layout).
Variable bilstm(const Variable& x, const LstmParams& forward, const LstmParams& backward, const BiLstmOptions& o);

}  // namespace hl::ag
