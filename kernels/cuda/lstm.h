// CUDA LSTM for small hidden sizes (h <= 64): the semantics of kernels/cpu/lstm.h
// (Keras layout and gate order i, f, g, o, one bias, batch first, h and c start at zero,
// recurrent mask r fixed over the sequence, reverse runs t from time - 1 down to 0).
//
// Forward, per call: one cuBLAS GEMM per direction for the input products of all steps
// (gates = x w + b), then ONE launch for the whole recurrence of every direction given
// (blockIdx.y picks the direction, so a bidirectional layer is one launch). Each block
// owns a slice of the batch and keeps the recurrent kernel u [h, 4h] in shared memory;
// h and c never leave the chip between steps.
// Backward through time: ONE launch for all directions (same layout), producing
// dz = d loss / d z for every step; then per direction cuBLAS GEMMs for du (from the
// saved masked previous states), dw, db (column sums) and dx.
//
// Extra output compared with the CPU: `prev` [batch, time, hidden], the masked previous
// state h_{t-1} * r that step t read (zeros at the first step), saved by the forward
// pass so that du is one GEMM: du = prev^T dz.
// Tests: tests/cuda/test_cuda_autograd_lstm.cpp against kernels/cpu/lstm.cpp,
// tests/ops/test_op_table_cuda.cpp (lstm and bilstm rows through hl::ag).
#pragma once
#include "kernels/cuda/stream.h"

#include <cstdint>

#include "kernels/cpu/lstm.h"

namespace hl::cuda {

using cpu::LstmShape;

constexpr int64_t kLstmMaxHidden = 64;

// One direction's tensors for the forward pass. hs element (b, t, j) is at
// hs[(b * time + t) * ld_hs + j] (ld_hs = hidden for a plain [batch, time, hidden]
// output, 2 * hidden when both directions write one [batch, time, 2 hidden] tensor).
struct LstmForwardArgs {
  const float* x = nullptr;  // [batch, time, input] (input dropout already applied)
  const float* w = nullptr;  // [input, 4h]
  const float* u = nullptr;  // [h, 4h]
  const float* b = nullptr;  // [4h]
  const float* r = nullptr;  // [batch, h] recurrent mask, or null
  float* hs = nullptr;       // outputs: h (row stride ld_hs),
  float* cs = nullptr;       // c [batch, time, h],
  float* gates = nullptr;    // activated gates [batch, time, 4h],
  float* prev = nullptr;     // masked previous h [batch, time, h]
  bool reverse = false;
};

// One direction's tensors for the backward pass (dhs with row stride ld_dhs).
struct LstmBackwardArgs {
  const float* x = nullptr;
  const float* w = nullptr;
  const float* u = nullptr;
  const float* r = nullptr;
  const float* cs = nullptr;
  const float* gates = nullptr;
  const float* prev = nullptr;
  const float* dhs = nullptr;  // gradient reaching each h_t from outside
  float* dz = nullptr;         // scratch [batch, time, 4h]
  float* dx = nullptr;         // outputs, overwritten; any may be null
  float* dw = nullptr;
  float* du = nullptr;
  float* db = nullptr;
  bool reverse = false;
};

// s.reverse is ignored (each direction says); ndirs is 1 or 2. Throws for hidden > 64.
void lstm_forward(const LstmShape& s, const LstmForwardArgs* dirs, int ndirs, int64_t ld_hs, cudaStream_t stream);
void lstm_backward(const LstmShape& s, const LstmBackwardArgs* dirs, int ndirs, int64_t ld_dhs,
                   cudaStream_t stream);

// Batch entries per block the two recurrence kernels use (exposed for the docs and
// tests): enough blocks to cover the SMs once, at most 1024 / (4 h) per block.
int lstm_batch_per_block(int64_t batch, int64_t hidden, int ndirs);

}  // namespace hl::cuda
