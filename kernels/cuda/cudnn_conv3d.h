// 3-D convolution through cuDNN's N-d descriptors, with TensorFlow's "SAME" / "VALID"
// padding, for the Multisensory network (nets/multisensory_cuda.h); the twin of
// cpu::conv3d_ndhwc_f32 (kernels/cpu/conv3d.h), which is its specification:
//   y = act((conv(x, w) + bias + residual) * scale + shift)   (each term optional)
// x [N, D, H, W, c_in] (NDHWC, packed), w [c_out, kd, kh, kw, c_in] (cuDNN's NDHWC filter
// layout: TensorFlow's [kd, kh, kw, c_in, c_out] transposed on the host), y [N, OD, OH,
// OW, c_out] packed. TensorFlow's 2-D convs along time ([B, N, 1, C], kernel [k, 1]) are
// this with D = 1.
//
// Padding: TensorFlow "SAME" pads pad_total = max((out - 1) s + k - in, 0) per axis with
// floor(pad_total / 2) before and the rest AFTER; cuDNN pads both ends equally. When
// pad_total is odd on some axis, x is first copied into a scratch tensor one element
// longer on that axis with a zero at its end (pad_end_ndhwc), and cuDNN pads
// floor(pad_total / 2) on both ends: the zeros before are TensorFlow's, and the ones
// after plus the appended one are TensorFlow's pad after. Padding both ends by
// ceil(pad_total / 2) and cropping would not do: with a stride the windows would start
// one element early, which no crop undoes. Its output size, floor((in + pad_total - k) /
// s) + 1, is TensorFlow's ceil(in / s) (and when pad_total is clipped at 0 too).
//
// Precision (as kernels/cuda/cudnn_conv.h): F32Exact runs CUDNN_DATA_FLOAT with
// CUDNN_FMA_MATH (no TF32) and only the GEMM-family and direct algorithms, so the result
// is a reordered f32 sum (within 1e-5 relative of the CPU); F16 runs CUDNN_DATA_HALF
// tensors with f32 accumulation on tensor cores where cuDNN has them for the shape.
//
// One CudnnConv3d is one layer at one input shape. Its first run() times the algorithms
// (cudnnFindConvolutionForwardAlgorithmEx on the real buffers) and keeps the fastest
// usable one; the bias, residual, BatchNorm and ReLU follow in one epilogue kernel
// (conv3d_epilogue, kernels/cuda/multisensory_ops.h).
//
// Tests: tests/cuda/test_cuda_multisensory_ops.cpp against cpu::conv3d_ndhwc_f32 on odd
// sizes, odd SAME pads, strides, the time conv, both precisions.
#pragma once
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "kernels/cpu/conv3d.h"
#include "kernels/cuda/cudnn_conv.h"
#include "kernels/cuda/multisensory_ops.h"

namespace hl::cuda {

// Device buffers of one run; the epilogue's terms as in Conv3dEpilogueArgs (null: left out).
struct CudnnConv3dArgs {
  const void* x = nullptr;
  const void* w = nullptr;
  void* y = nullptr;
  const float* bias = nullptr;
  const void* residual = nullptr;
  const float* scale = nullptr;
  const float* shift = nullptr;
  bool relu = false;
};

class CudnnConv3d {
 public:
  // Throws hl::Error naming the layer for a shape cuDNN cannot describe (sizes outside int).
  CudnnConv3d(ConvPrecision precision, const cpu::Conv3dShape& shape, std::string name);
  ~CudnnConv3d();
  CudnnConv3d(const CudnnConv3d&) = delete;
  CudnnConv3d& operator=(const CudnnConv3d&) = delete;

  const cpu::Conv3dShape& shape() const { return shape_; }
  int64_t output_elements() const;

  // Runs the layer on handle's stream (which must be `stream`); scratch as in
  // cudnn_conv.h. Throws hl::Error naming the layer on a cuDNN failure.
  void run(cudnnHandle_t handle, const CudnnConv3dArgs& args, const ConvScratch& scratch, cudaStream_t stream);

  // The chosen algorithm and workspace, and whether x is padded first, for logs and tests.
  std::string describe() const;

 private:
  void release();
  void choose(cudnnHandle_t handle, const void* x, const void* w, void* y, void* search_workspace);

  ConvPrecision precision_;
  cpu::Conv3dShape shape_;
  std::string name_;
  CnnDType dtype_;
  PadEndShape pad_;        // the copy with the odd end pads, when needs_pad_
  bool needs_pad_ = false;
  int64_t od_ = 0, oh_ = 0, ow_ = 0;
  cudnnTensorDescriptor_t x_desc_ = nullptr, y_desc_ = nullptr;
  cudnnFilterDescriptor_t w_desc_ = nullptr;
  cudnnConvolutionDescriptor_t conv_desc_ = nullptr;
  bool chosen_ = false;
  cudnnConvolutionFwdAlgo_t algo_ = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
  size_t workspace_bytes_ = 0;
};

}  // namespace hl::cuda
