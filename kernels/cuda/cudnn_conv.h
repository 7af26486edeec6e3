// A thin cuDNN wrapper for the inference CNNs' convolutions (nets/cnn_backend_cuda.cpp):
//   y = act(conv(x, w) + bias (+ residual)),  act = ReLU or identity,
// with x [N, H, W, c_in] (NHWC, packed), w [c_out, k, k, c_in] (cuDNN's NHWC filter
// layout, KRSC), bias [c_out], residual [N, OH, OW, c_out] (packed), and y the channels
// [0, c_out) of rows of y_channels elements: [N, OH, OW, y_channels], so that an Inception
// branch writes straight into its slice of the block's concatenation.
//
// Precision: F32Exact runs CUDNN_DATA_FLOAT with CUDNN_FMA_MATH (not CUDNN_DEFAULT_MATH,
// which lets cuDNN use TF32 tensor cores on Ampere and later) and only the GEMM-family
// and direct algorithms, whose error is that of a reordered f32 sum (FFT and Winograd
// transforms add their own rounding); F16 runs CUDNN_DATA_HALF tensors with f32
// accumulation (convolution compute type FLOAT, cuDNN's "pseudo-half" configuration) on
// tensor cores.
//
// One CudnnConv is one layer at one input shape. Its first run() chooses how to run,
// once: cudnnFindConvolutionForwardAlgorithmEx times the algorithms on the real buffers;
// then, in Find's order, the first algorithm that cudnnConvolutionBiasActivationForward
// accepts runs the whole layer in one call (ReLU layers only: cuDNN's fused call with an
// identity activation is limited to one algorithm). Otherwise cudnnConvolutionForward
// runs with Find's fastest algorithm and our epilogue kernel (kernels/cuda/cnn_ops.h)
// adds the bias and residual and applies the ReLU. If cuDNN refuses the strided output
// (or y is not 16-byte aligned), the convolution writes a packed scratch tensor and the
// epilogue writes it into the slice. Later runs replay that choice.
//
// Without a residual the fused call gets z = y with alpha2 = 0, as PyTorch's
// cudnn_convolution_relu does on uninitialised outputs: cuDNN does not read z then.
//
// Tests: tests/cuda/test_cuda_cnn.cpp (every path the nets take: ReLU or not, residual,
// channel slice, strides and paddings of GoogLeNet and ResNet50; both precisions)
// against the CPU backend, outputs NaN-poisoned.
#pragma once
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "kernels/cuda/cnn_ops.h"

namespace hl::cuda {

enum class ConvPrecision { F32Exact, F16 };

struct CudnnConvShape {
  int64_t batch = 0, height = 0, width = 0;  // of x
  int64_t c_in = 0, c_out = 0;
  int64_t kernel = 1, stride = 1, pad = 0;  // square, symmetric
  int64_t y_channels = 0;                   // row length of y (>= c_out)
  bool relu = false, residual = false;
  int64_t out_height() const { return (height + 2 * pad - kernel) / stride + 1; }
  int64_t out_width() const { return (width + 2 * pad - kernel) / stride + 1; }
};

// Device buffers of one run. bias_f32 is always needed (our epilogue); bias_act is the
// bias in the activation type (cuDNN's fused call wants it so).
struct CudnnConvArgs {
  const void* x = nullptr;
  const void* w = nullptr;
  const float* bias_f32 = nullptr;
  const void* bias_act = nullptr;
  const void* residual = nullptr;  // iff the shape says so
  void* y = nullptr;               // channel 0 of the slice
};

// Device scratch of at least the asked bytes, valid until the next call, in stream
// order (the backend's workspace, grown through the caching arena).
using ConvScratch = std::function<void*(size_t bytes)>;

class CudnnConv {
 public:
  CudnnConv(ConvPrecision precision, const CudnnConvShape& shape, std::string name);
  ~CudnnConv();
  CudnnConv(const CudnnConv&) = delete;
  CudnnConv& operator=(const CudnnConv&) = delete;

  // Runs the layer on handle's stream. Throws hl::Error naming the layer on a cuDNN
  // failure.
  void run(cudnnHandle_t handle, const CudnnConvArgs& args, const ConvScratch& scratch, cudaStream_t stream);

  // How the first run decided to compute the layer, for logs and tests: "fused",
  // "conv+epilogue" or "packed conv+epilogue", and the algorithm.
  std::string describe() const;

 private:
  enum class Mode { Undecided, Fused, Unfused, Packed };
  void release();  // destroys the descriptors made so far
  void choose(cudnnHandle_t handle, const CudnnConvArgs& args, const ConvScratch& scratch);
  bool try_fused(cudnnHandle_t handle, const CudnnConvArgs& args, cudnnConvolutionFwdAlgo_t algo, void* workspace,
                 size_t workspace_bytes);
  void set_algorithm(cudnnHandle_t handle, cudnnConvolutionFwdAlgo_t algo, cudnnMathType_t math,
                     cudnnTensorDescriptor_t y_desc);
  cudnnMathType_t run_math(cudnnMathType_t found) const;

  ConvPrecision precision_;
  CudnnConvShape shape_;
  std::string name_;
  CnnDType dtype_;
  cudnnTensorDescriptor_t x_desc_ = nullptr, y_desc_ = nullptr, packed_desc_ = nullptr, bias_desc_ = nullptr;
  cudnnFilterDescriptor_t w_desc_ = nullptr;
  cudnnConvolutionDescriptor_t conv_desc_ = nullptr;
  cudnnActivationDescriptor_t act_desc_ = nullptr;
  Mode mode_ = Mode::Undecided;
  cudnnConvolutionFwdAlgo_t algo_ = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
  size_t workspace_bytes_ = 0;
};

}  // namespace hl::cuda
