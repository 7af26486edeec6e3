#include "bench/cuda/cudnn_bilstm.h"

#include <cstdint>
#include <stdexcept>
#include <string>

#include "engine/device.h"
#include "kernels/cuda/handles.h"

namespace hl::bench {

namespace {

void cuda_ok(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(status));
}
void cudnn_ok(cudnnStatus_t status, const char* what) {
  if (status != CUDNN_STATUS_SUCCESS) throw std::runtime_error(std::string(what) + ": " + cudnnGetErrorString(status));
}

// Device memory from the engine's arena (at least one byte: cuDNN may report zero).
Tensor device_bytes(size_t n) {
  return Tensor::empty({static_cast<int64_t>(n > 0 ? n : 1)}, DType::U8, Device::cuda());
}

// The number of elements a descriptor cudnnGetRNNWeightParams filled in describes.
size_t elements_of(cudnnTensorDescriptor_t desc) {
  cudnnDataType_t type{};
  int dims[8] = {}, strides[8] = {}, rank = 0;
  cudnn_ok(cudnnGetTensorNdDescriptor(desc, 8, &type, &rank, dims, strides), "cudnnGetTensorNdDescriptor");
  if (type != CUDNN_DATA_FLOAT) throw std::runtime_error("cuDNN LSTM weight is not f32");
  size_t n = 1;
  for (int i = 0; i < rank; ++i) n *= static_cast<size_t>(dims[i]);
  return n;
}

// Owns one tensor descriptor for the duration of a lookup.
struct TensorDesc {
  cudnnTensorDescriptor_t d{};
  TensorDesc() { cudnn_ok(cudnnCreateTensorDescriptor(&d), "cudnnCreateTensorDescriptor"); }
  ~TensorDesc() { cudnnDestroyTensorDescriptor(d); }
  TensorDesc(const TensorDesc&) = delete;
  TensorDesc& operator=(const TensorDesc&) = delete;
};

void check_params(const LstmDirectionParams& p, const CudnnLstmShape& s) {
  const size_t g = 4 * static_cast<size_t>(s.hidden);
  if (p.w.size() != static_cast<size_t>(s.input) * g || p.u.size() != static_cast<size_t>(s.hidden) * g ||
      p.b.size() != g)
    throw std::runtime_error("CudnnBiLstm::set_weights: w, u, b must be [input, 4h], [h, 4h], [4h]");
}

}  // namespace

std::vector<float> cudnn_gate_matrix(const std::vector<float>& m, int in, int hidden, int gate) {
  const size_t H = static_cast<size_t>(hidden), G = 4 * H;
  std::vector<float> out(H * static_cast<size_t>(in));
  for (size_t j = 0; j < H; ++j)
    for (size_t k = 0; k < static_cast<size_t>(in); ++k) out[j * in + k] = m.at(k * G + gate * H + j);
  return out;
}

void scatter_cudnn_gate_matrix(const std::vector<float>& gate_matrix, int in, int hidden, int gate,
                               std::vector<float>& m) {
  const size_t H = static_cast<size_t>(hidden), G = 4 * H;
  for (size_t j = 0; j < H; ++j)
    for (size_t k = 0; k < static_cast<size_t>(in); ++k) m.at(k * G + gate * H + j) = gate_matrix.at(j * in + k);
}

CudnnBiLstm::CudnnBiLstm(const CudnnLstmShape& shape, cudnnRNNAlgo_t algo, cudnnMathType_t math, cudaStream_t stream)
    : shape_(shape) {
  const int B = shape.batch, T = shape.time, I = shape.input, H = shape.hidden;
  if (B < 1 || T < 1 || I < 1 || H < 1) throw std::runtime_error("CudnnBiLstm: every dimension must be at least 1");
  try {
    cudnnHandle_t handle = hl::cuda::cudnn_handle(stream);
    cudnn_ok(cudnnCreateDropoutDescriptor(&dropout_), "cudnnCreateDropoutDescriptor");
    size_t state_bytes = 0;
    cudnn_ok(cudnnDropoutGetStatesSize(handle, &state_bytes), "cudnnDropoutGetStatesSize");
    dropout_states_ = device_bytes(state_bytes);
    cudnn_ok(cudnnSetDropoutDescriptor(dropout_, handle, 0.0f, dropout_states_.raw(), state_bytes, 0),
             "cudnnSetDropoutDescriptor");
    cudnn_ok(cudnnCreateRNNDescriptor(&rnn_), "cudnnCreateRNNDescriptor");
    // Padded I/O enabled: cuDNN accepts the unpacked layouts (our batch-first
    // [batch, time, vector] is CUDNN_RNN_DATA_LAYOUT_BATCH_MAJOR_UNPACKED) only with it
    // (cudnnSetRNNDescriptor_v8's auxFlags). Every sequence is full length, so no padding
    // is ever read or written.
    cudnn_ok(cudnnSetRNNDescriptor_v8(rnn_, algo, CUDNN_LSTM, CUDNN_RNN_SINGLE_INP_BIAS, CUDNN_BIDIRECTIONAL,
                                      CUDNN_LINEAR_INPUT, CUDNN_DATA_FLOAT, CUDNN_DATA_FLOAT, math, I, H, H, 1,
                                      dropout_, CUDNN_RNN_PADDED_IO_ENABLED),
             "cudnnSetRNNDescriptor_v8");
    std::vector<int> lengths(static_cast<size_t>(B), T);
    cudnn_ok(cudnnCreateRNNDataDescriptor(&x_desc_), "cudnnCreateRNNDataDescriptor");
    cudnn_ok(cudnnSetRNNDataDescriptor(x_desc_, CUDNN_DATA_FLOAT, CUDNN_RNN_DATA_LAYOUT_BATCH_MAJOR_UNPACKED, T, B, I,
                                       lengths.data(), nullptr),
             "cudnnSetRNNDataDescriptor x");
    cudnn_ok(cudnnCreateRNNDataDescriptor(&y_desc_), "cudnnCreateRNNDataDescriptor");
    cudnn_ok(cudnnSetRNNDataDescriptor(y_desc_, CUDNN_DATA_FLOAT, CUDNN_RNN_DATA_LAYOUT_BATCH_MAJOR_UNPACKED, T, B,
                                       2 * H, lengths.data(), nullptr),
             "cudnnSetRNNDataDescriptor y");
    // h and c: [directions, batch, hidden]; passed with null data (zero initial state).
    cudnn_ok(cudnnCreateTensorDescriptor(&h_desc_), "cudnnCreateTensorDescriptor");
    const int dims[3] = {2, B, H}, strides[3] = {B * H, H, 1};
    cudnn_ok(cudnnSetTensorNdDescriptor(h_desc_, CUDNN_DATA_FLOAT, 3, dims, strides), "cudnnSetTensorNdDescriptor");
    seq_lengths_ = Tensor::empty({B}, DType::I32, Device::cuda());
    cuda_ok(cudaMemcpyAsync(seq_lengths_.raw(), lengths.data(), lengths.size() * sizeof(int), cudaMemcpyHostToDevice,
                            stream),
            "cudaMemcpyAsync sequence lengths");
    cuda_ok(cudaStreamSynchronize(stream), "cudaStreamSynchronize");  // `lengths` dies here
    cudnn_ok(cudnnGetRNNWeightSpaceSize(handle, rnn_, &weight_bytes_), "cudnnGetRNNWeightSpaceSize");
    cudnn_ok(cudnnGetRNNTempSpaceSizes(handle, rnn_, CUDNN_FWD_MODE_TRAINING, x_desc_, &work_bytes_, &reserve_bytes_),
             "cudnnGetRNNTempSpaceSizes");
    weights_ = device_bytes(weight_bytes_), dweights_ = device_bytes(weight_bytes_);
    work_ = device_bytes(work_bytes_), reserve_ = device_bytes(reserve_bytes_);
    cuda_ok(cudaMemsetAsync(weights_.raw(), 0, weight_bytes_, stream), "cudaMemsetAsync weights");
    cuda_ok(cudaMemsetAsync(dweights_.raw(), 0, weight_bytes_, stream), "cudaMemsetAsync weight gradients");
  } catch (...) {
    release();  // a throwing constructor runs no destructor: free the descriptors made so far
    throw;
  }
}

CudnnBiLstm::~CudnnBiLstm() { release(); }

void CudnnBiLstm::release() {
  if (h_desc_) cudnnDestroyTensorDescriptor(h_desc_);
  if (y_desc_) cudnnDestroyRNNDataDescriptor(y_desc_);
  if (x_desc_) cudnnDestroyRNNDataDescriptor(x_desc_);
  if (rnn_) cudnnDestroyRNNDescriptor(rnn_);
  if (dropout_) cudnnDestroyDropoutDescriptor(dropout_);
  h_desc_ = nullptr, y_desc_ = nullptr, x_desc_ = nullptr, rnn_ = nullptr, dropout_ = nullptr;
}

CudnnBiLstm::Slot CudnnBiLstm::slot(int direction, int lin_layer, const void* space, cudaStream_t stream) const {
  TensorDesc m, b;
  void* m_addr = nullptr;
  void* b_addr = nullptr;
  cudnn_ok(cudnnGetRNNWeightParams(hl::cuda::cudnn_handle(stream), rnn_, direction, weight_bytes_, space, lin_layer,
                                   m.d, &m_addr, b.d, &b_addr),
           "cudnnGetRNNWeightParams");
  Slot s;
  s.matrix = static_cast<float*>(m_addr);
  s.bias = static_cast<float*>(b_addr);
  if (s.matrix) s.matrix_elements = elements_of(m.d);
  if (s.bias && lin_layer < 4) s.bias_elements = elements_of(b.d);
  if (lin_layer >= 4) s.bias = nullptr;
  // What the mapping in the header assumes: [hidden, in] matrices and, on the input
  // side, biases of `hidden` elements. (CUDNN_RNN_SINGLE_INP_BIAS has no recurrent bias;
  // whatever cuDNN reports there is left alone: the weight space starts zeroed, and a
  // zero recurrent bias is our model's.)
  const size_t H = static_cast<size_t>(shape_.hidden);
  const size_t in = static_cast<size_t>(lin_layer < 4 ? shape_.input : shape_.hidden);
  const std::string where = "cuDNN LSTM direction " + std::to_string(direction) + " layer " + std::to_string(lin_layer);
  if (!s.matrix || s.matrix_elements != H * in)
    throw std::runtime_error(where + ": weight matrix has " + std::to_string(s.matrix_elements) +
                             " elements, expected " + std::to_string(H * in));
  if (lin_layer < 4 && (!s.bias || s.bias_elements != H))
    throw std::runtime_error(where + ": bias has " + std::to_string(s.bias_elements) + " elements, expected " +
                             std::to_string(H));
  return s;
}

void CudnnBiLstm::set_weights(int direction, const LstmDirectionParams& p, cudaStream_t stream) {
  check_params(p, shape_);
  const int I = shape_.input, H = shape_.hidden;
  std::vector<std::vector<float>> staged;  // host copies alive until the stream is synchronised
  for (int gate = 0; gate < 4; ++gate) {
    const Slot in = slot(direction, gate, weights_.raw(), stream);
    const Slot rec = slot(direction, 4 + gate, weights_.raw(), stream);
    staged.push_back(cudnn_gate_matrix(p.w, I, H, gate));
    cuda_ok(cudaMemcpyAsync(in.matrix, staged.back().data(), staged.back().size() * sizeof(float),
                            cudaMemcpyHostToDevice, stream),
            "cudaMemcpyAsync input weights");
    staged.push_back(cudnn_gate_matrix(p.u, H, H, gate));
    cuda_ok(cudaMemcpyAsync(rec.matrix, staged.back().data(), staged.back().size() * sizeof(float),
                            cudaMemcpyHostToDevice, stream),
            "cudaMemcpyAsync recurrent weights");
    cuda_ok(cudaMemcpyAsync(in.bias, p.b.data() + static_cast<size_t>(gate) * H, H * sizeof(float),
                            cudaMemcpyHostToDevice, stream),
            "cudaMemcpyAsync bias");
  }
  cuda_ok(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
}

LstmDirectionParams CudnnBiLstm::weight_gradients(int direction, cudaStream_t stream) const {
  const int I = shape_.input, H = shape_.hidden;
  const size_t G = 4 * static_cast<size_t>(H);
  LstmDirectionParams g;
  g.w.assign(static_cast<size_t>(I) * G, 0.0f), g.u.assign(static_cast<size_t>(H) * G, 0.0f), g.b.assign(G, 0.0f);
  std::vector<float> in_m[4], rec_m[4];
  for (int gate = 0; gate < 4; ++gate) {
    const Slot in = slot(direction, gate, dweights_.raw(), stream);
    const Slot rec = slot(direction, 4 + gate, dweights_.raw(), stream);
    in_m[gate].resize(in.matrix_elements), rec_m[gate].resize(rec.matrix_elements);
    cuda_ok(cudaMemcpyAsync(in_m[gate].data(), in.matrix, in.matrix_elements * sizeof(float), cudaMemcpyDeviceToHost,
                            stream),
            "cudaMemcpyAsync input weight gradients");
    cuda_ok(cudaMemcpyAsync(rec_m[gate].data(), rec.matrix, rec.matrix_elements * sizeof(float),
                            cudaMemcpyDeviceToHost, stream),
            "cudaMemcpyAsync recurrent weight gradients");
    cuda_ok(cudaMemcpyAsync(g.b.data() + static_cast<size_t>(gate) * H, in.bias, H * sizeof(float),
                            cudaMemcpyDeviceToHost, stream),
            "cudaMemcpyAsync bias gradients");
  }
  cuda_ok(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
  for (int gate = 0; gate < 4; ++gate) {
    scatter_cudnn_gate_matrix(in_m[gate], I, H, gate, g.w);
    scatter_cudnn_gate_matrix(rec_m[gate], H, H, gate, g.u);
  }
  return g;
}

void CudnnBiLstm::forward(const float* x, float* y, cudaStream_t stream) {
  cudnn_ok(cudnnRNNForward(hl::cuda::cudnn_handle(stream), rnn_, CUDNN_FWD_MODE_TRAINING,
                           seq_lengths_.data<int32_t>(), x_desc_, x, y_desc_, y, h_desc_, nullptr, nullptr, h_desc_,
                           nullptr, nullptr, weight_bytes_, weights_.raw(), work_bytes_, work_.raw(), reserve_bytes_,
                           reserve_.raw()),
           "cudnnRNNForward");
}

void CudnnBiLstm::backward(const float* x, const float* y, const float* dy, float* dx, cudaStream_t stream) {
  cudnnHandle_t handle = hl::cuda::cudnn_handle(stream);
  // Backward data first: it leaves in the reserve space what backward weights reads.
  cudnn_ok(cudnnRNNBackwardData_v8(handle, rnn_, seq_lengths_.data<int32_t>(), y_desc_, y, dy, x_desc_, dx, h_desc_,
                                   nullptr, nullptr, nullptr, h_desc_, nullptr, nullptr, nullptr, weight_bytes_,
                                   weights_.raw(), work_bytes_, work_.raw(), reserve_bytes_, reserve_.raw()),
           "cudnnRNNBackwardData_v8");
  // CUDNN_WGRAD_MODE_ADD accumulates: start from zero, as a training step would.
  cuda_ok(cudaMemsetAsync(dweights_.raw(), 0, weight_bytes_, stream), "cudaMemsetAsync weight gradients");
  cudnn_ok(cudnnRNNBackwardWeights_v8(handle, rnn_, CUDNN_WGRAD_MODE_ADD, seq_lengths_.data<int32_t>(), x_desc_, x,
                                      h_desc_, nullptr, y_desc_, y, weight_bytes_, dweights_.raw(), work_bytes_,
                                      work_.raw(), reserve_bytes_, reserve_.raw()),
           "cudnnRNNBackwardWeights_v8");
}

}  // namespace hl::bench
