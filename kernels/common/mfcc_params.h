// Parameters of the MFCC front end (specs/nets.md): python_speech_features' conventions
// with the paper's values. Shared by the CPU and CUDA kernels.
#pragma once
#include <cstdint>

#include "kernels/common/hd.h"

namespace hl {

struct MfccParams {
  int sample_rate = 16000;
  int window = 400;  // 25 ms, rectangular
  // Hop between rows in samples, as the rational step_num / step_den. Row i starts at
  // round_half_up(i · step_num / step_den). The paper's step, 0.25/29.97 s, is
  // 16000 · 1001 / 120000 = 2002/15 = 133.47 samples (4 rows per video frame, kept
  // exact over any length); python_speech_features rounds it to 133 (step 133/1).
  int64_t step_num = 2002;
  int64_t step_den = 15;
  int nfft = 512;
  int filters = 26;
  int cepstra = 13;
  float preemphasis = 0.97f;
  int lifter = 22;
  bool energy_in_c0 = true;  // c0 replaced by log(frame energy)

  // The paper's front end: exact fractional step.
  static MfccParams paper() { return MfccParams{}; }
  // Exactly python_speech_features.mfcc(winstep=0.25/29.97, ...): the step rounded to 133.
  static MfccParams python_speech_features() {
    MfccParams p;
    p.step_num = 133;
    p.step_den = 1;
    return p;
  }
};

// First sample of row i: round_half_up(i · num / den) = floor((2 i num + den) / (2 den)).
HL_HD int64_t mfcc_row_start(int64_t row, int64_t step_num, int64_t step_den) {
  return (2 * row * step_num + step_den) / (2 * step_den);
}

}  // namespace hl
