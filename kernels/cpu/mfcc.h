// MFCC on the CPU (the specification for the CUDA version): python_speech_features'
// pipeline row by row, with kissfft for the real FFT.
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/common/mfcc_params.h"

namespace hl::cpu {

// The triangular mel filters [filters, nfft/2 + 1] of python_speech_features'
// get_filterbanks (HTK mel scale, edges at floor((nfft+1)·f/sr)), in double.
std::vector<double> mel_filterbank(const MfccParams& p);

// MFCC rows [first_row, first_row + rows) of `samples` [n] into out [rows, p.cepstra].
// Row r covers samples [s, s + window) with s = mfcc_row_start(r, ...) of the
// pre-emphasised signal (y[0] = x[0], y[t] = x[t] − a·x[t−1]); samples past the end are
// zero, as python_speech_features pads. Rows can be computed in any chunks: each row
// depends only on the samples under it and the one before.
void mfcc_f32(const float* samples, int64_t n, int64_t first_row, int64_t rows, const MfccParams& p, float* out);

}  // namespace hl::cpu
