#include "kernels/cpu/mfcc_fft.h"

#include <cmath>
#include <numbers>
#include <stdexcept>

namespace hl::cpu {

RealFftLanes::RealFftLanes(int n) : n_(n) {
  if (n < 4 || (n & (n - 1)) != 0) throw std::invalid_argument("MFCC FFT size must be a power of two >= 4");
  const int m = n / 2;
  int bits = 0;
  while ((1 << bits) < m) ++bits;
  bit_reversed_.resize(static_cast<size_t>(m));
  for (int k = 0; k < m; ++k) {
    int r = 0;
    for (int b = 0; b < bits; ++b) r |= ((k >> b) & 1) << (bits - 1 - b);
    bit_reversed_[k] = r;
  }
  for (int k = 0; k < m / 2; ++k) {
    const double angle = -2.0 * std::numbers::pi * k / m;
    twiddle_re_.push_back(FloatLanes{} + static_cast<float>(std::cos(angle)));
    twiddle_im_.push_back(FloatLanes{} + static_cast<float>(std::sin(angle)));
  }
  for (int k = 0; k < m; ++k) {
    const double angle = -2.0 * std::numbers::pi * k / n;
    split_re_.push_back(FloatLanes{} + static_cast<float>(std::cos(angle)));
    split_im_.push_back(FloatLanes{} + static_cast<float>(std::sin(angle)));
  }
}

// An AVX2 clone (chosen at load time where the CPU has it) runs each FloatLanes operation
// as one instruction, twice as fast as the baseline SSE2 pairs; both give the same bits.
__attribute__((target_clones("avx2", "default")))
void RealFftLanes::forward(const FloatLanes* x, FloatLanes* re, FloatLanes* im, FloatLanes* work) const {
  const int m = n_ / 2;
  FloatLanes* zr = work;  // [m] the complex FFT in place, real and imaginary parts apart
  FloatLanes* zi = work + m;
  for (int k = 0; k < m; ++k) {
    zr[bit_reversed_[k]] = x[2 * k];
    zi[bit_reversed_[k]] = x[2 * k + 1];
  }
  // Butterflies of span 2·half: a, b -> a + w·b, a − w·b with w = exp(−2πij/(2·half)).
  // (Two spans per pass, radix-4 style, measured no faster: the arithmetic dominates.)
  for (int half = 1; half < m; half *= 2) {
    const int step = m / (2 * half);  // twiddle j of this span is entry j·step of the table
    for (int start = 0; start < m; start += 2 * half) {
      for (int j = 0; j < half; ++j) {
        const FloatLanes &wr = twiddle_re_[j * step], &wi = twiddle_im_[j * step];
        const int a = start + j, b = a + half;
        const FloatLanes tr = wr * zr[b] - wi * zi[b], ti = wr * zi[b] + wi * zr[b];
        zr[b] = zr[a] - tr;
        zi[b] = zi[a] - ti;
        zr[a] += tr;
        zi[a] += ti;
      }
    }
  }
  // Z = FFT(z) holds the even samples' spectrum E = (Z[k] + conj Z[m−k]) / 2 and the odd
  // ones' O = (Z[k] − conj Z[m−k]) / 2i; X[k] = E[k] + exp(−2πik/n)·O[k].
  re[0] = zr[0] + zi[0];
  im[0] = FloatLanes{};
  re[m] = zr[0] - zi[0];
  im[m] = FloatLanes{};
  for (int k = 1; k < m; ++k) {
    const FloatLanes er = 0.5f * (zr[k] + zr[m - k]), ei = 0.5f * (zi[k] - zi[m - k]);
    const FloatLanes o_r = 0.5f * (zi[k] + zi[m - k]), o_i = 0.5f * (zr[m - k] - zr[k]);
    re[k] = er + (split_re_[k] * o_r - split_im_[k] * o_i);
    im[k] = ei + (split_re_[k] * o_i + split_im_[k] * o_r);
  }
}

}  // namespace hl::cpu
