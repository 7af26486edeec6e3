#include "kernels/cpu/mfcc.h"

#include <algorithm>

namespace hl::cpu {

MfccPlan::MfccPlan(const MfccParams& p) : p_(p), mel_(mel_filters(p)), dct_(dct_lifter_table(p)), fft_(p.nfft) {}

// AVX2 and baseline clones, as RealFftLanes::forward (mfcc_fft.cpp).
__attribute__((target_clones("avx2", "default")))
void MfccPlan::run(const float* samples, int64_t n, int64_t first_row, int64_t rows, float* out) const {
  const int bins = p_.nfft / 2 + 1, window = p_.window;
  // Lane l of every vector below is row first_row + r0 + l of the group being computed.
  LaneVector frame(static_cast<size_t>(p_.nfft));  // [nfft]; [window, nfft) stays 0
  LaneVector work(static_cast<size_t>(p_.nfft)), re(static_cast<size_t>(bins)), im(re);
  LaneVector power(static_cast<size_t>(bins)), logmel(static_cast<size_t>(p_.filters));
  for (int64_t r0 = 0; r0 < rows; r0 += kLanes) {
    const int lanes = static_cast<int>(std::min<int64_t>(kLanes, rows - r0));
    int64_t start[kLanes];  // lanes past the last row start at n: they see silence
    bool inside = true;     // every row has a sample before it and ends within the signal
    for (int l = 0; l < kLanes; ++l) {
      start[l] = l < lanes ? mfcc_row_start(first_row + r0 + l, p_.step_num, p_.step_den) : n;
      inside = inside && start[l] >= 1 && start[l] + window <= n;
    }
    if (inside) {  // the common case, without edge tests: y[t] = x[t] − a·x[t−1]
      for (int l = 0; l < kLanes; ++l) {
        const float* x = samples + start[l];
        for (int j = 0; j < window; ++j) frame[j][l] = x[j] - p_.preemphasis * x[j - 1];
      }
    } else {
      for (int l = 0; l < kLanes; ++l)
        for (int j = 0; j < window; ++j) frame[j][l] = mfcc_preemphasised(samples, n, start[l] + j, p_.preemphasis);
    }
    fft_.forward(frame.data(), re.data(), im.data(), work.data());

    FloatLanes energy{};
    for (int k = 0; k < bins; ++k) {
      power[k] = (re[k] * re[k] + im[k] * im[k]) / static_cast<float>(p_.nfft);
      energy += power[k];
    }
    for (int j = 0; j < p_.filters; ++j) {
      const float* w = mel_.weight.data() + mel_.offset[j];
      const FloatLanes* pk = power.data() + mel_.first[j];
      FloatLanes e{};
      for (int i = 0; i < mel_.count[j]; ++i) e += w[i] * pk[i];
      for (int l = 0; l < kLanes; ++l) logmel[j][l] = mfcc_log(e[l]);
    }
    for (int m = 0; m < p_.cepstra; ++m) {
      const float* d = dct_.data() + static_cast<size_t>(m) * p_.filters;
      FloatLanes c{};
      for (int j = 0; j < p_.filters; ++j) c += d[j] * logmel[j];
      for (int l = 0; l < lanes; ++l) out[(r0 + l) * p_.cepstra + m] = c[l];
    }
    if (p_.energy_in_c0)
      for (int l = 0; l < lanes; ++l) out[(r0 + l) * p_.cepstra] = mfcc_log(energy[l]);
  }
}

void mfcc_f32(const float* samples, int64_t n, int64_t first_row, int64_t rows, const MfccParams& p, float* out) {
  MfccPlan(p).run(samples, n, first_row, rows, out);
}

}  // namespace hl::cpu
