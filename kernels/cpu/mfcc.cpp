#include "kernels/cpu/mfcc.h"

#include <kiss_fftr.h>

#include <cfloat>
#include <cmath>
#include <memory>
#include <numbers>
#include <stdexcept>

namespace hl::cpu {
namespace {

double hz_to_mel(double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); }
double mel_to_hz(double mel) { return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0); }

struct FftrDeleter {
  void operator()(kiss_fftr_state* s) const { kiss_fftr_free(s); }
};

}  // namespace

std::vector<double> mel_filterbank(const MfccParams& p) {
  const int bins = p.nfft / 2 + 1;
  const double low = hz_to_mel(0.0), high = hz_to_mel(p.sample_rate / 2.0);
  // numpy.linspace(low, high, filters + 2): start + i·step, the last point exactly high.
  const int points = p.filters + 2;
  const double step = (high - low) / (points - 1);
  std::vector<double> edge(static_cast<size_t>(points));
  for (int i = 0; i < points; ++i) {
    const double mel = i == points - 1 ? high : low + i * step;
    edge[i] = std::floor((p.nfft + 1) * mel_to_hz(mel) / p.sample_rate);
  }
  std::vector<double> fb(static_cast<size_t>(p.filters) * bins, 0.0);
  for (int j = 0; j < p.filters; ++j) {
    double* row = fb.data() + static_cast<size_t>(j) * bins;
    for (int i = static_cast<int>(edge[j]); i < static_cast<int>(edge[j + 1]); ++i)
      row[i] = (i - edge[j]) / (edge[j + 1] - edge[j]);
    for (int i = static_cast<int>(edge[j + 1]); i < static_cast<int>(edge[j + 2]); ++i)
      row[i] = (edge[j + 2] - i) / (edge[j + 2] - edge[j + 1]);
  }
  return fb;
}

void mfcc_f32(const float* samples, int64_t n, int64_t first_row, int64_t rows, const MfccParams& p, float* out) {
  if (p.window > p.nfft) throw std::invalid_argument("MFCC window longer than the FFT");
  const int bins = p.nfft / 2 + 1;
  const std::vector<double> fb = mel_filterbank(p);
  std::unique_ptr<kiss_fftr_state, FftrDeleter> fft(kiss_fftr_alloc(p.nfft, 0, nullptr, nullptr));
  if (!fft) throw std::bad_alloc();

  // DCT-II, orthonormal (scipy's norm='ortho'), times the lifter 1 + (L/2)·sin(πm/L).
  std::vector<double> dct(static_cast<size_t>(p.cepstra) * p.filters);
  for (int m = 0; m < p.cepstra; ++m) {
    const double scale = m == 0 ? std::sqrt(1.0 / p.filters) : std::sqrt(2.0 / p.filters);
    const double lift = p.lifter > 0 ? 1.0 + (p.lifter / 2.0) * std::sin(std::numbers::pi * m / p.lifter) : 1.0;
    for (int j = 0; j < p.filters; ++j)
      dct[static_cast<size_t>(m) * p.filters + j] =
          lift * scale * std::cos(std::numbers::pi * m * (2 * j + 1) / (2.0 * p.filters));
  }

  std::vector<float> frame(static_cast<size_t>(p.nfft));
  std::vector<kiss_fft_cpx> spectrum(static_cast<size_t>(bins));
  std::vector<double> power(static_cast<size_t>(bins)), logmel(static_cast<size_t>(p.filters));
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t start = mfcc_row_start(first_row + r, p.step_num, p.step_den);
    for (int j = 0; j < p.nfft; ++j) {
      const int64_t t = start + j;
      double v = 0.0;  // zero beyond the window (FFT padding) and beyond the signal
      if (j < p.window && t < n) v = t == 0 ? samples[0] : samples[t] - static_cast<double>(p.preemphasis) * samples[t - 1];
      frame[j] = static_cast<float>(v);
    }
    kiss_fftr(fft.get(), frame.data(), spectrum.data());
    double energy = 0.0;
    for (int k = 0; k < bins; ++k) {
      const double re = spectrum[k].r, im = spectrum[k].i;
      power[k] = (re * re + im * im) / p.nfft;
      energy += power[k];
    }
    for (int j = 0; j < p.filters; ++j) {
      double e = 0.0;
      const double* f = fb.data() + static_cast<size_t>(j) * bins;
      for (int k = 0; k < bins; ++k) e += power[k] * f[k];
      logmel[j] = std::log(e == 0.0 ? DBL_EPSILON : e);  // the library's guard against log(0)
    }
    float* y = out + r * p.cepstra;
    for (int m = 0; m < p.cepstra; ++m) {
      double c = 0.0;
      for (int j = 0; j < p.filters; ++j) c += dct[static_cast<size_t>(m) * p.filters + j] * logmel[j];
      y[m] = static_cast<float>(c);
    }
    if (p.energy_in_c0) y[0] = static_cast<float>(std::log(energy == 0.0 ? DBL_EPSILON : energy));
  }
}

}  // namespace hl::cpu
