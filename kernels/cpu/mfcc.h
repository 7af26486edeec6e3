// MFCC on the CPU, the specification for the CUDA version (kernels/cuda/mfcc.h):
// python_speech_features' pipeline. For row r starting at sample s = mfcc_row_start(r):
//   frame[j]  = y[s + j] for j < window, 0 up to nfft     (y: the pre-emphasised signal,
//               y[0] = x[0], y[t] = x[t] − a·x[t−1], zero past the end, as the library pads)
//   P[k]      = |rfft(frame)[k]|² / nfft,  k = 0..nfft/2   (f32 FFT: mfcc_fft.h)
//   mel[j]    = Σ_k F[j][k]·P[k]   (sparse: F[j] is nonzero on a few bins only)
//   c[m]      = Σ_j D[m][j]·log(mel[j])   (D: orthonormal DCT-II times the lifter)
//   c[0]      = log(Σ_k P[k])   (when energy_in_c0)
// with a zero mel energy or frame energy replaced by DBL_EPSILON before the log, as the
// library guards log(0). Rows go through in groups of kLanes, one SIMD lane per row.
// f32 arithmetic throughout (tables computed in double, rounded once).
// CUDA twin: kernels/cuda/mfcc.h.
// Tests: tests/nets/test_mfcc_golden.cpp against python_speech_features (relative
// tolerance 1e-5, measured 2.2e-6); tests/nets/test_mfcc.cpp: the FFT, chunked calls,
// refused parameters; on CUDA tests/cuda/test_cuda_mfcc.cpp.
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/common/mfcc_params.h"
#include "kernels/cpu/mfcc_fft.h"
#include "kernels/cpu/mfcc_tables.h"

namespace hl::cpu {

// Everything that depends only on the parameters, made once and reused for any number
// of calls (and for any thread: run() keeps its scratch on the caller's stack and heap).
class MfccPlan {
 public:
  explicit MfccPlan(const MfccParams& p);  // throws hl::Error for parameters it cannot run
  const MfccParams& params() const { return p_; }

  // MFCC rows [first_row, first_row + rows) of samples [n] into out [rows, cepstra]. Rows
  // can be computed in any chunks: each depends only on the samples under it and the
  // one before.
  void run(const float* samples, int64_t n, int64_t first_row, int64_t rows, float* out) const;

 private:
  MfccParams p_;
  MelFilters mel_;
  std::vector<float> dct_;  // [cepstra, filters]
  RealFftLanes fft_;
};

// One-off convenience: MfccPlan(p).run(...).
void mfcc_f32(const float* samples, int64_t n, int64_t first_row, int64_t rows, const MfccParams& p, float* out);

}  // namespace hl::cpu
