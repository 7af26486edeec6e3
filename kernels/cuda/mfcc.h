// CUDA version of kernels/cpu/mfcc.h: the same MFCC rows, in three steps per chunk of
// rows (at most kMfccChunkRows):
//   1. framing: frames f32 [batch, nfft] = the pre-emphasised samples under each row,
//      zero-padded (mfcc_preemphasised, the CPU's function, so the frames are the CPU's
//      bit for bit);
//   2. cufftExecR2C, batched: spectrum complex f32 [batch, nfft/2 + 1] (a plan per
//      (nfft, batch), made once and cached by kernels/cuda/handles.h; batch is the chunk's
//      row count rounded up to a power of two, so few plans exist);
//   3. one fused kernel, a warp per row: power spectrum, frame energy (warp sum), sparse
//      mel energies (lane j: filter j), log with the DBL_EPSILON guard, DCT × lifter (lane
//      m: coefficient m, the log energies passed by shuffles), c0 = log energy.
// The tables (sparse filters, DCT × lifter) are the CPU's (cpu::mel_filters,
// cpu::dct_lifter_table), uploaded once by the caller. Mel and DCT sums run in the CPU's
// order without fused multiply-adds; the FFT (cuFFT vs the CPU's own), the energy's
// summation order and logf's last bit differ.
// Tests: tests/cuda/test_cuda_mfcc.cpp against kernels/cpu/mfcc.cpp (relative 1e-5).
#pragma once
#include "kernels/cuda/stream.h"

#include <cstdint>
#include <vector>

#include "kernels/common/mfcc_params.h"

namespace hl::cuda {

// Rows per framing + FFT + fused pass: bounds the scratch (about 134 MB at nfft 512).
constexpr int64_t kMfccChunkRows = int64_t{1} << 15;

// The parameters' tables packed for one upload each:
//   ints   = [first (filters), count (filters), offset (filters)]   (cpu::MelFilters)
//   floats = [mel weights (Σ count), DCT × lifter (cepstra × filters)]
struct MfccTable {
  MfccParams params;
  int64_t dct_offset = 0;  // where the DCT starts in floats
  std::vector<int32_t> ints;
  std::vector<float> floats;
};
// Throws hl::Error for parameters the CPU kernel refuses, and for more than 32 filters
// (a lane per filter).
MfccTable mfcc_table(const MfccParams& p);

// Bytes of device scratch mfcc_f32 needs for `rows` rows.
int64_t mfcc_scratch_bytes(const MfccParams& p, int64_t rows);

// Rows [first_row, first_row + rows) of samples f32 [n] into out f32 [rows, cepstra], all
// on the current device. table_ints, table_floats: device copies of table.ints and
// table.floats; scratch: mfcc_scratch_bytes(table.params, rows) bytes, 256-byte aligned.
void mfcc_f32(const float* samples, int64_t n, int64_t first_row, int64_t rows, const MfccTable& table,
              const int32_t* table_ints, const float* table_floats, void* scratch, float* out, cudaStream_t stream);

}  // namespace hl::cuda
