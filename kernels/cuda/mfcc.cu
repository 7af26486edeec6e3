// The MFCC on CUDA (kernels/cuda/mfcc.h): framing kernel, batched cuFFT, fused rows kernel.
#include <cufft.h>

#include <algorithm>
#include <bit>
#include <string>

#include "kernels/common/error.h"
#include "kernels/cpu/mfcc_tables.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/handles.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/mfcc.h"

namespace hl::cuda {
namespace {

constexpr int kWarp = 32;
constexpr unsigned kAllLanes = 0xFFFFFFFFu;

// The FFT batch for `rows` rows: a power of two, so that a few cached plans serve any length.
int64_t fft_batch(int64_t rows) { return static_cast<int64_t>(std::bit_ceil(static_cast<uint64_t>(rows))); }

int64_t round_up(int64_t bytes) { return (bytes + 255) / 256 * 256; }

// frames [batch, nfft]: row r is MFCC row first_row + r.
__global__ void frames_kernel(const float* x, int64_t n, int64_t first_row, int64_t batch, int64_t step_num,
                              int64_t step_den, int window, int nfft, float preemphasis, float* frames) {
  const int64_t total = batch * nfft;
  for (int64_t e = grid_first(); e < total; e += grid_stride()) {
    const int64_t r = e / nfft;
    const int j = static_cast<int>(e % nfft);
    frames[e] = j < window ? cpu::mfcc_preemphasised(x, n, mfcc_row_start(first_row + r, step_num, step_den) + j,
                                                     preemphasis)
                           : 0.0f;
  }
}

// |X|² / nfft as on the CPU: two products, a sum, a division, none fused.
__device__ __forceinline__ float power(cufftComplex v, float nfft) {
  return __fdiv_rn(__fadd_rn(__fmul_rn(v.x, v.x), __fmul_rn(v.y, v.y)), nfft);
}

// A warp per row: out [rows, cepstra] from spectrum [rows, bins]. filters <= 32.
__global__ void rows_kernel(const cufftComplex* spectrum, int64_t rows, int bins, int nfft, int filters,
                            int cepstra, bool energy_in_c0, const int32_t* first, const int32_t* count,
                            const int32_t* offset, const float* weight, const float* dct, float* out) {
  const int lane = static_cast<int>(threadIdx.x % kWarp);
  const int64_t warp_stride = grid_stride() / kWarp;
  const float size = static_cast<float>(nfft);
  for (int64_t row = grid_first() / kWarp; row < rows; row += warp_stride) {  // uniform across the warp
    const cufftComplex* x = spectrum + row * bins;
    float energy = 0.0f;
    for (int k = lane; k < bins; k += kWarp) energy = __fadd_rn(energy, power(x[k], size));
    for (int s = kWarp / 2; s > 0; s /= 2) energy = __fadd_rn(energy, __shfl_xor_sync(kAllLanes, energy, s));

    float log_mel = 0.0f;  // lane j: log of mel energy j
    if (lane < filters) {
      const float* w = weight + offset[lane];
      const cufftComplex* bin = x + first[lane];
      float e = 0.0f;
      for (int i = 0; i < count[lane]; ++i) e = __fadd_rn(e, __fmul_rn(w[i], power(bin[i], size)));
      log_mel = cpu::mfcc_log(e);
    }
    float c = 0.0f;  // lane m: coefficient m
    for (int j = 0; j < filters; ++j) {
      const float lj = __shfl_sync(kAllLanes, log_mel, j);
      if (lane < cepstra) c = __fadd_rn(c, __fmul_rn(dct[lane * filters + j], lj));
    }
    if (lane < cepstra) out[row * cepstra + lane] = (lane == 0 && energy_in_c0) ? cpu::mfcc_log(energy) : c;
  }
}

}  // namespace

MfccTable mfcc_table(const MfccParams& p) {
  const cpu::MelFilters mel = cpu::mel_filters(p);  // checks the parameters
  if (p.filters > kWarp)
    throw Error("CUDA MFCC: at most " + std::to_string(kWarp) + " mel filters (got " + std::to_string(p.filters) + ")");
  MfccTable t;
  t.params = p;
  for (const auto* v : {&mel.first, &mel.count, &mel.offset}) t.ints.insert(t.ints.end(), v->begin(), v->end());
  t.floats = mel.weight;
  t.dct_offset = static_cast<int64_t>(t.floats.size());
  const std::vector<float> dct = cpu::dct_lifter_table(p);
  t.floats.insert(t.floats.end(), dct.begin(), dct.end());
  return t;
}

int64_t mfcc_scratch_bytes(const MfccParams& p, int64_t rows) {
  const int64_t batch = fft_batch(std::clamp<int64_t>(rows, 1, kMfccChunkRows));
  return round_up(batch * p.nfft * int64_t{sizeof(float)}) +
         round_up(batch * (p.nfft / 2 + 1) * int64_t{sizeof(cufftComplex)});
}

void mfcc_f32(const float* samples, int64_t n, int64_t first_row, int64_t rows, const MfccTable& table,
              const int32_t* table_ints, const float* table_floats, void* scratch, float* out, cudaStream_t stream) {
  const MfccParams& p = table.params;
  const int bins = p.nfft / 2 + 1;
  const int32_t* first = table_ints;
  const int32_t* count = table_ints + p.filters;
  const int32_t* offset = table_ints + 2 * p.filters;
  for (int64_t done = 0; done < rows; done += kMfccChunkRows) {
    const int64_t chunk = std::min(kMfccChunkRows, rows - done), batch = fft_batch(chunk);
    auto* frames = static_cast<float*>(scratch);  // [batch, nfft]
    auto* spectrum = reinterpret_cast<cufftComplex*>(static_cast<char*>(scratch) +
                                                     round_up(batch * p.nfft * int64_t{sizeof(float)}));  // [batch, bins]
    // Every row of the batch is framed (rows past `chunk` too), so cuFFT reads no
    // uninitialised memory; only `chunk` rows are finished.
    frames_kernel<<<grid_blocks(batch * p.nfft), kBlockThreads, 0, stream>>>(
        samples, n, first_row + done, batch, p.step_num, p.step_den, p.window, p.nfft, p.preemphasis, frames);
    HL_CUDA_LAUNCH_CHECK();
    FftPlanShape shape;
    shape.dims = {p.nfft, 0, 0};
    shape.batch = batch;
    shape.type = CUFFT_R2C;
    HL_CUFFT_CHECK(cufftExecR2C(cufft_plan(shape, stream), frames, spectrum));
    rows_kernel<<<grid_blocks(chunk * kWarp), kBlockThreads, 0, stream>>>(
        spectrum, chunk, bins, p.nfft, p.filters, p.cepstra, p.energy_in_c0, first, count, offset, table_floats,
        table_floats + table.dct_offset, out + done * p.cepstra);
    HL_CUDA_LAUNCH_CHECK();
  }
}

}  // namespace hl::cuda
