// cuDNN's bidirectional single-layer LSTM (the library PyTorch's nn.LSTM calls on a
// GPU), set up with hl's conventions so that it computes what ag::bilstm(full_sequence)
// computes: x [batch, time, input] batch first, y [batch, time, 2 hidden] (the forward
// direction's h first, PyTorch's layout), one bias per gate (CUDNN_RNN_SINGLE_INP_BIAS:
// kernels/cpu/lstm.h's b, i.e. PyTorch's bias_ih with bias_hh = 0), h and c starting at
// zero, no dropout, every sequence full length. f32 throughout.
// Users: bench/cuda/bench_cuda_lstm.cpp (the benchmark baseline) and
// tests/cuda/test_cuda_lstm_cudnn.cpp (our fused BiLSTM against it on the same weights).
//
// Weight mapping. cuDNN's weight space holds, per direction (pseudoLayer 0 = forward,
// 1 = backward) and per linear layer (linLayerID 0-3: the input weights of the gates
// i, f, g ("new memory"), o; 4-7: the recurrent weights of the same gates), a row-major
// matrix [hidden, in] (in = input or hidden) whose element (j, k) multiplies input k
// into unit j, and for IDs 0-3 a bias [hidden]. This is PyTorch's layout: nn.LSTM's
// weight_ih_l0 [4 hidden, input] (gates i, f, g, o stacked) is a view of the cuDNN
// buffer. Ours (kernels/cpu/lstm.h) is w [input, 4 hidden], u [hidden, 4 hidden],
// b [4 hidden] with the same gate order, and tests/autograd/test_lstm_golden.cpp checks
// on the CPU that PyTorch's weight_ih = w^T, weight_hh = u^T. So cuDNN's matrix of gate
// g is (j, k) -> w[k][g * hidden + j] (cudnn_gate_matrix below), and its bias of gate g
// is b[g * hidden .. (g + 1) * hidden).
//
// Precision: the constructor takes the math type. CUDNN_FMA_MATH keeps cuDNN on f32 FMA
// kernels; CUDNN_DEFAULT_MATH lets it use TF32 tensor cores on A100 and later GPUs
// (cuDNN's cudnnMathType_t documentation; PyTorch passes FMA_MATH when
// torch.backends.cudnn.allow_tf32 is off), which would not be an f32 baseline.
// Every cuDNN and CUDA call is checked; failures throw std::runtime_error naming the call.
#pragma once
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <cstddef>
#include <vector>

#include "engine/tensor.h"

namespace hl::bench {

struct CudnnLstmShape {
  int batch = 0, time = 0, input = 0, hidden = 0;
};

// One direction's parameters (or their gradients) in hl's layout, in host memory:
// w [input, 4 hidden], u [hidden, 4 hidden], b [4 hidden], gates i, f, g, o.
struct LstmDirectionParams {
  std::vector<float> w, u, b;
};

// cuDNN's row-major matrix [hidden, in] of gate `gate` (0-3: i, f, g, o) from ours
// m [in, 4 hidden]: element (j, k) = m[k * 4 hidden + gate * hidden + j].
std::vector<float> cudnn_gate_matrix(const std::vector<float>& m, int in, int hidden, int gate);
// The inverse: writes gate `gate`'s columns of m [in, 4 hidden] from cuDNN's matrix.
void scatter_cudnn_gate_matrix(const std::vector<float>& gate_matrix, int in, int hidden, int gate,
                               std::vector<float>& m);

class CudnnBiLstm {
 public:
  // Throws when cuDNN refuses the configuration (e.g. a persistent algorithm).
  CudnnBiLstm(const CudnnLstmShape& shape, cudnnRNNAlgo_t algo, cudnnMathType_t math, cudaStream_t stream);
  ~CudnnBiLstm();
  CudnnBiLstm(const CudnnBiLstm&) = delete;
  CudnnBiLstm& operator=(const CudnnBiLstm&) = delete;

  const CudnnLstmShape& shape() const { return shape_; }
  // The device weight space (weight_bytes() bytes), for filling it directly.
  size_t weight_bytes() const { return weight_bytes_; }
  void* weights() { return weights_.raw(); }

  // Writes direction `direction`'s (0 forward, 1 backward) parameters, given in hl's
  // layout, into the weight space. Synchronises `stream`.
  void set_weights(int direction, const LstmDirectionParams& p, cudaStream_t stream);
  // The weight gradients of the last backward() for one direction, in hl's layout.
  // Synchronises `stream`.
  LstmDirectionParams weight_gradients(int direction, cudaStream_t stream) const;

  // Device pointers: x [batch, time, input] -> y [batch, time, 2 hidden]. Training
  // mode: keeps what backward() needs in the reserve space.
  void forward(const float* x, float* y, cudaStream_t stream);
  // After forward(x, y): dy [batch, time, 2 hidden] -> dx [batch, time, input] and the
  // weight gradients (overwritten, not accumulated).
  void backward(const float* x, const float* y, const float* dy, float* dx, cudaStream_t stream);

 private:
  // Where one linear layer's matrix and bias live in a weight space (null when absent).
  struct Slot {
    float* matrix = nullptr;
    size_t matrix_elements = 0;
    float* bias = nullptr;
    size_t bias_elements = 0;
  };
  Slot slot(int direction, int lin_layer, const void* space, cudaStream_t stream) const;
  void release();  // destroys the descriptors made so far

  CudnnLstmShape shape_;
  cudnnDropoutDescriptor_t dropout_{};
  cudnnRNNDescriptor_t rnn_{};
  cudnnRNNDataDescriptor_t x_desc_{}, y_desc_{};
  cudnnTensorDescriptor_t h_desc_{};
  size_t weight_bytes_ = 0, work_bytes_ = 0, reserve_bytes_ = 0;
  Tensor dropout_states_, seq_lengths_, weights_, dweights_, work_, reserve_;
};

}  // namespace hl::bench
