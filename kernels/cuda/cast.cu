// Element type conversions (kernels/cuda/cast.h). The rounding is the scalar code of
// kernels/common/half.h that the CPU kernels run too, so results are bit-identical
// (round to nearest even, NaN kept quiet, subnormals produced and read); integer to f32
// is the hardware's round-to-nearest conversion, as static_cast is on the CPU.
// Memory bound and trivially parallel: one grid-stride loop per conversion.
// Tests: tests/cuda/test_cuda_kernels.cpp, bit-exact against kernels/cpu/cast.cpp on every
// 16-bit pattern and on f32 values around each rounding boundary.
#include <cstdint>

#include "kernels/common/half.h"
#include "kernels/cuda/cast.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/launch.cuh"

namespace hl::cuda {
namespace {

template <typename From, typename To, class Convert>
__global__ void convert_kernel(const From* x, To* y, int64_t n, Convert convert) {
  for (int64_t i = grid_first(); i < n; i += grid_stride()) y[i] = convert(x[i]);
}

template <typename From, typename To, class Convert>
void launch(const From* x, To* y, int64_t n, Convert convert, cudaStream_t stream) {
  if (n <= 0) return;
  convert_kernel<<<grid_blocks(n), kBlockThreads, 0, stream>>>(x, y, n, convert);
  HL_CUDA_LAUNCH_CHECK();
}

struct ToF16 {
  __device__ uint16_t operator()(float v) const { return f32_to_f16_bits(v); }
};
struct FromF16 {
  __device__ float operator()(uint16_t h) const { return f16_bits_to_f32(h); }
};
struct ToBf16 {
  __device__ uint16_t operator()(float v) const { return f32_to_bf16_bits(v); }
};
struct FromBf16 {
  __device__ float operator()(uint16_t h) const { return bf16_bits_to_f32(h); }
};
// __int2float_rn / __ll2float_rn: round to nearest even, as the host's conversion.
struct FromI32 {
  __device__ float operator()(int32_t v) const { return __int2float_rn(v); }
};
struct FromI64 {
  __device__ float operator()(int64_t v) const { return __ll2float_rn(static_cast<long long>(v)); }
};
struct FromU8 {
  __device__ float operator()(uint8_t v) const { return static_cast<float>(v); }
};

}  // namespace

void f32_to_f16(const float* x, uint16_t* y, int64_t n, cudaStream_t stream) { launch(x, y, n, ToF16{}, stream); }
void f16_to_f32(const uint16_t* x, float* y, int64_t n, cudaStream_t stream) { launch(x, y, n, FromF16{}, stream); }
void f32_to_bf16(const float* x, uint16_t* y, int64_t n, cudaStream_t stream) { launch(x, y, n, ToBf16{}, stream); }
void bf16_to_f32(const uint16_t* x, float* y, int64_t n, cudaStream_t stream) { launch(x, y, n, FromBf16{}, stream); }
void i32_to_f32(const int32_t* x, float* y, int64_t n, cudaStream_t stream) { launch(x, y, n, FromI32{}, stream); }
void i64_to_f32(const int64_t* x, float* y, int64_t n, cudaStream_t stream) { launch(x, y, n, FromI64{}, stream); }
void u8_to_f32(const uint8_t* x, float* y, int64_t n, cudaStream_t stream) { launch(x, y, n, FromU8{}, stream); }

}  // namespace hl::cuda
