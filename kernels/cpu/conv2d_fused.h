// Inference 2-D convolution with a fused epilogue and an output that may be a channel
// slice of a wider tensor (the concatenation of an Inception block's branches).
//
// Layouts as kernels/cpu/conv2d.h: x [batch, height, width, c_in] (NHWC, contiguous),
// w [kh, kw, c_in, c_out] (HWIO). The output pixel r = (n, i, j) is the row
// y + r * ldy, of which this writes elements [0, c_out) (ldy >= c_out; pass y already
// offset to the slice's first channel):
//   v = conv(x, w)[n, i, j, o]                       (as conv2d_forward, no bias)
//   v = v * scale[o] + shift[o]                      (scale: unfolded BatchNorm; shift: bias)
//   v = v + residual[r * c_out + o]                  (a ResNet shortcut, contiguous [rows, c_out])
//   y[r * ldy + o] = relu ? max(v, 0) : v
// Each of scale, shift, residual may be null (1, 0, nothing); an unfolded BatchNorm
// passes scale = gamma / sqrt(var + eps) and shift = beta - mean * scale, as PyTorch's
// CPU batch_norm computes it in eval mode.
//
// Computed in blocks of output rows: im2col of one block (skipped when the kernel reads
// x as stored, a 1x1 stride-1 conv), one OpenBLAS sgemm writing straight into y with
// leading dimension ldy, then the epilogue on the block while it is still in cache.
// The im2col block lives in `workspace`, conv2d_fused_workspace(s) floats.
//
// No CUDA twin of the same name: the CUDA CNN backend runs these convolutions with cuDNN
// (kernels/cuda/cudnn_conv.h) and its epilogue kernel (kernels/cuda/cnn_ops.h).
// Tests: tests/nets/test_pool2d.cpp (FusedConv: every epilogue and a channel slice,
// against conv2d_forward and the formula above computed in the test), and the whole
// networks against torchvision (tests/nets/test_googlenet_golden.cpp,
// tests/nets/test_resnet50_golden.cpp); the CUDA backend against this one in
// tests/cuda/test_cuda_cnn.cpp.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/cpu/conv2d.h"

namespace hl::cpu {

struct ConvEpilogue {
  const float* scale = nullptr;     // [c_out]
  const float* shift = nullptr;     // [c_out]
  const float* residual = nullptr;  // [rows, c_out]
  bool relu = false;
};

// Floats of workspace conv2d_fused_f32 needs for s (0 when it needs none).
size_t conv2d_fused_workspace(const Conv2dShape& s);

void conv2d_fused_f32(const Conv2dShape& s, const float* x, const float* w, float* y, int64_t ldy,
                      const ConvEpilogue& e, float* workspace);

}  // namespace hl::cpu
