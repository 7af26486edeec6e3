// The parts of the MFCC (kernels/cpu/mfcc.h) that the CPU and CUDA kernels share: the
// tables made from the parameters (sparse mel filters, DCT × lifter), computed in double
// and rounded once to f32, and the scalar steps both apply per element (pre-emphasis,
// the guarded log). No CUDA twin: kernels/cuda/mfcc.cu uses these very functions.
// Tests: through the whole MFCC, tests/nets/test_mfcc_golden.cpp (against
// python_speech_features) and tests/cuda/test_cuda_mfcc.cpp.
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/common/hd.h"
#include "kernels/common/mfcc_params.h"

namespace hl::cpu {

// python_speech_features' get_filterbanks (HTK mel scale, edges at floor((nfft+1)·f/sr)),
// stored sparsely: filter j covers bins [first[j], first[j] + count[j]) with the weights
// weight[offset[j] .. offset[j] + count[j]); every other bin has weight 0.
struct MelFilters {
  std::vector<int32_t> first, count, offset;  // [filters] each
  std::vector<float> weight;                  // [Σ count]
};
MelFilters mel_filters(const MfccParams& p);

// D [cepstra, filters]: scipy's orthonormal DCT-II rows times the lifter 1 + (L/2)·sin(πm/L).
std::vector<float> dct_lifter_table(const MfccParams& p);

// The log the pipeline takes of a mel or frame energy: a zero becomes DBL_EPSILON first.
inline constexpr float kLogDblEpsilon = -36.0436533891f;  // log(2^−52)
HL_HD float mfcc_log(float energy) { return energy == 0.0f ? kLogDblEpsilon : logf(energy); }

// Sample t of the pre-emphasised signal y of x [n]; zero past the end. Two roundings
// (product, then difference), never fused, so that the CUDA version gives the same bits.
HL_HD float mfcc_preemphasised(const float* x, int64_t n, int64_t t, float a) {
  if (t >= n) return 0.0f;
  if (t == 0) return x[0];
#if defined(__CUDA_ARCH__)
  return __fsub_rn(x[t], __fmul_rn(a, x[t - 1]));
#else
  return x[t] - a * x[t - 1];
#endif
}

}  // namespace hl::cpu
