// Batched transpose of the last two dimensions (kernels/cuda/transpose.h):
// x [batch, rows, cols] -> y [batch, cols, rows], elements of 1, 2, 4 or 8 bytes moved as
// opaque words. A 32x32 tile goes through shared memory so that both the read of x and
// the write of y are coalesced; the tile has one padding column so that reading it
// column-wise does not hit one bank 32 times. Tests: tests/cuda/test_cuda_kernels.cpp
// (bit-exact against kernels/cpu/transpose.cpp).
#include <algorithm>
#include <cstdint>
#include <string>

#include "kernels/common/error.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/transpose.h"

namespace hl::cuda {
namespace {

constexpr int kTile = 32;
constexpr int kTileRowsPerPass = 8;  // block is 32x8 threads; each moves 4 elements per tile
constexpr int64_t kMaxGridYZ = 65535;

// Block (bx, by, bz) moves tile column bx of tile rows by, by + gridDim.y, ... of
// batch entries bz, bz + gridDim.z, ...
template <typename T>
__global__ void transpose_kernel(const T* x, T* y, int64_t batch, int64_t rows, int64_t cols) {
  __shared__ T tile[kTile][kTile + 1];
  const int tx = threadIdx.x;
  const int ty = threadIdx.y;
  const int64_t c0 = int64_t{blockIdx.x} * kTile;
  const int64_t row_tiles = (rows + kTile - 1) / kTile;
  for (int64_t b = blockIdx.z; b < batch; b += gridDim.z) {
    const T* xb = x + b * rows * cols;
    T* yb = y + b * rows * cols;
    for (int64_t rt = blockIdx.y; rt < row_tiles; rt += gridDim.y) {
      const int64_t r0 = rt * kTile;
      for (int k = ty; k < kTile; k += kTileRowsPerPass) {
        const int64_t r = r0 + k, c = c0 + tx;
        if (r < rows && c < cols) tile[k][tx] = xb[r * cols + c];
      }
      __syncthreads();
      for (int k = ty; k < kTile; k += kTileRowsPerPass) {
        const int64_t c = c0 + k, r = r0 + tx;
        if (c < cols && r < rows) yb[c * rows + r] = tile[tx][k];
      }
      __syncthreads();  // the tile is refilled for the next pass
    }
  }
}

template <typename T>
void launch(const void* x, void* y, int64_t batch, int64_t rows, int64_t cols, cudaStream_t stream) {
  const dim3 block(kTile, kTileRowsPerPass);
  const dim3 grid(static_cast<unsigned>((cols + kTile - 1) / kTile),
                  static_cast<unsigned>(std::min<int64_t>((rows + kTile - 1) / kTile, kMaxGridYZ)),
                  static_cast<unsigned>(std::min<int64_t>(batch, kMaxGridYZ)));
  transpose_kernel<T><<<grid, block, 0, stream>>>(static_cast<const T*>(x), static_cast<T*>(y), batch, rows, cols);
  HL_CUDA_LAUNCH_CHECK();
}

}  // namespace

void transpose(const void* x, void* y, int64_t batch, int64_t rows, int64_t cols, size_t element_size,
               cudaStream_t stream) {
  if (batch <= 0 || rows <= 0 || cols <= 0) return;
  switch (element_size) {
    case 1: return launch<uint8_t>(x, y, batch, rows, cols, stream);
    case 2: return launch<uint16_t>(x, y, batch, rows, cols, stream);
    case 4: return launch<uint32_t>(x, y, batch, rows, cols, stream);
    case 8: return launch<uint64_t>(x, y, batch, rows, cols, stream);
    default:
      throw Error("cuda::transpose: element size " + std::to_string(element_size) +
                  " bytes is not supported (1, 2, 4 or 8)");
  }
}

}  // namespace hl::cuda
