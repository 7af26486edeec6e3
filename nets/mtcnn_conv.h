// P-Net's convolutions on the CPU (nets/mtcnn.cpp): valid padding, stride 1,
// few output channels (10, 16, 32; the two heads together 6), the bias and
// PReLU fused.
//
// Why not im2col + OpenBLAS as the other nets: with N = c_out <= 32 the GEMM is
// so skinny that packing the im2col matrix and writing it cost more than the
// products (perf on a 720p frame: sgemm's kernel 20 %, im2col, its packing and
// zeroing 45 %). Here each group of output pixels keeps its c_out sums in
// registers and reads the input rows in place (NHWC: the k * c_in values under
// one kernel row are contiguous), so the input is read once per kernel row and
// nothing is written but the output.
//
// The sums are added in another order than PyTorch's (f32 rounding, ~1e-6
// relative): tests/nets/test_mtcnn_conv.cpp checks the kernel against a
// double-precision formula, tests/nets/test_mtcnn_golden.cpp the whole detector
// against facenet-pytorch.
#pragma once
#include <cstdint>
#include <vector>

namespace hl::mtcnn {

struct PackedConv {
  int64_t k = 1, c_in = 0, c_out = 0;
  int64_t np = 0;            // c_out rounded up to 8, 16 or 32 (the register block)
  std::vector<float> w;      // [k, k, c_in, np], zeros in the columns past c_out
  std::vector<float> bias;   // [np]
  std::vector<float> alpha;  // [np], PReLU's slopes; empty: no PReLU
};

// weight HWIO [k, k, c_in, c_out], bias [c_out], alpha [c_out] or null; c_out <= 32.
PackedConv pack_conv(const float* weight, const float* bias, const float* alpha, int64_t k, int64_t c_in,
                     int64_t c_out);

// Which compiled version runs: Best (the widest the CPU has, chosen once) or
// one asked for by the tests, so that every version is checked on a machine
// that has them all.
enum class ConvIsa { Best, Baseline, Avx2, Avx512 };
bool conv_isa_available(ConvIsa isa);

// x [h, w, c_in] -> y [h - k + 1, w - k + 1, c_out] (h, w >= k):
//   y = prelu(bias + sum over (ky, kx, i) of
//             x[oy + ky, ox + kx, i] * weight[ky, kx, i, o])
// with prelu(v) = max(v, 0) + alpha * min(v, 0) (identity without alpha).
// Throws hl::Error when the input is smaller than the kernel or the CPU lacks
// `isa`.
void conv_valid_prelu(const PackedConv& c, const float* x, int64_t h, int64_t w, float* y, ConvIsa isa = ConvIsa::Best);

}  // namespace hl::mtcnn
