// The elementwise and pooling kernels of the CUDA inference-CNN backend
// (nets/cnn_backend_cuda.cpp), around the convolutions that cuDNN does
// (kernels/cuda/cudnn_conv.h). Activations are NHWC, contiguous unless a row stride says
// otherwise, in f32 or f16 (IEEE half, stored as uint16_t bits); every kernel computes
// in f32 and rounds once when it stores an f16 result.
//
//   maxpool2d_nhwc       x [N, H, W, C] -> y [N, OH, OW, C], PyTorch's max_pool2d with
//                        ceil_mode, as kernels/cpu/pool2d.h (cuDNN's pooling has no
//                        ceil_mode: its output size rule differs)
//   global_avgpool_nhwc  x [N, P, C] -> y [N, C], the mean over the P pixels
//   channel_affine_nhwc  y[p, c] = x[p, c] * scale[c] + shift[c]
//   conv_epilogue        out[r, c] = act(in[r, c] + bias[c] + residual[r, c]) over strided
//                        rows: the bias/residual/ReLU after a cuDNN convolution that could
//                        not fuse them, and the copy of a packed result into a channel
//                        slice of a concatenation
//   linear_forward_f16   y [rows, out] = x [rows, in] w [in, out] + bias in f16, the
//                        classifier of the f16 backend: one cuBLAS GEMM with f32
//                        accumulation on tensor cores, then conv_epilogue adds the f32
//                        bias. (The f32 backend uses kernels/cuda/linear.h, the twin of
//                        kernels/cpu/linear.h; the CPU has no f16 path.)
//
// f32 results are the CPU kernels' bit for bit (same operations in the same order, no
// fused multiply-add), except conv_epilogue, whose input comes from cuDNN anyway.
// Tests: tests/cuda/test_cuda_cnn.cpp, each op against the CPU backend
// (nets/cnn_backend_cpu.cpp) on random inputs with NaN-poisoned outputs.
#pragma once
#include "kernels/cuda/stream.h"

#include <cstdint>

#include "kernels/cpu/pool2d.h"

namespace hl::cuda {

enum class CnnDType { F32, F16 };

// s must have passed s.validate(); y holds s.out_height() x s.out_width() pixels.
void maxpool2d_nhwc(CnnDType t, const cpu::Pool2dShape& s, const void* x, void* y, cudaStream_t stream);

// Summed over the pixels in ascending order in f32, then times 1 / pixels, as the CPU.
void global_avgpool_nhwc(CnnDType t, const void* x, void* y, int64_t batch, int64_t pixels, int64_t channels,
                         cudaStream_t stream);

// The per-channel factors travel in the kernel's parameters, so no copy precedes the
// launch; the one user (GoogLeNet's transform_input) has 3 channels.
struct ChannelAffine {
  static constexpr int kMaxChannels = 16;
  int channels = 0;
  float scale[kMaxChannels] = {};
  float shift[kMaxChannels] = {};
};
// x [pixels, channels] -> y (may be x).
void channel_affine_nhwc(CnnDType t, const void* x, void* y, int64_t pixels, const ChannelAffine& a,
                         cudaStream_t stream);

// rows x cols elements: in at in[r * ld_in + c], out at out[r * ld_out + c] (in may be
// out when the strides agree). bias: f32 [cols] or null; residual: [rows, cols] packed,
// in the activation type, or null. NaN passes through the ReLU, as on the CPU.
struct ConvEpilogueArgs {
  int64_t rows = 0, cols = 0;
  const void* in = nullptr;
  int64_t ld_in = 0;
  void* out = nullptr;
  int64_t ld_out = 0;
  const float* bias = nullptr;
  const void* residual = nullptr;
  bool relu = false;
};
void conv_epilogue(CnnDType t, const ConvEpilogueArgs& a, cudaStream_t stream);

// x [rows, in], w [in, out], y [rows, out]: f16 (uint16_t bits); bias f32 [out].
void linear_forward_f16(const void* x, const void* w, const float* bias, void* y, int64_t rows, int64_t in,
                        int64_t out, cudaStream_t stream);

}  // namespace hl::cuda
