#include "kernels/cpu/mfcc_tables.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

#include "kernels/common/error.h"

namespace hl::cpu {
namespace {

double hz_to_mel(double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); }
double mel_to_hz(double mel) { return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0); }

void check_params(const MfccParams& p) {
  const bool ok = p.sample_rate > 0 && p.window > 0 && p.window <= p.nfft && p.filters > 0 && p.cepstra > 0 &&
                  p.cepstra <= p.filters && p.lifter >= 0 && p.step_num > 0 && p.step_den > 0;
  if (!ok)
    throw Error("MFCC parameters out of range (need 0 < window <= nfft, 0 < cepstra <= filters, lifter >= 0, "
                "a positive step)");
  if (p.nfft < 4 || (p.nfft & (p.nfft - 1)) != 0)
    throw Error("MFCC nfft " + std::to_string(p.nfft) + " is not a power of two >= 4");
}

}  // namespace

MelFilters mel_filters(const MfccParams& p) {
  check_params(p);
  const double low = hz_to_mel(0.0), high = hz_to_mel(p.sample_rate / 2.0);
  // numpy.linspace(low, high, filters + 2): start + i·step, the last point exactly high.
  const int points = p.filters + 2;
  const double step = (high - low) / (points - 1);
  std::vector<double> edge(static_cast<size_t>(points));
  for (int i = 0; i < points; ++i) {
    const double mel = i == points - 1 ? high : low + i * step;
    edge[i] = std::floor((p.nfft + 1) * mel_to_hz(mel) / p.sample_rate);
  }
  MelFilters f;
  for (int j = 0; j < p.filters; ++j) {
    // Rising from 0 at edge j to 1 at edge j + 1, falling to 0 at edge j + 2 (excluded).
    const int lo = static_cast<int>(edge[j]), mid = static_cast<int>(edge[j + 1]), hi = static_cast<int>(edge[j + 2]);
    f.first.push_back(lo);
    f.count.push_back(std::max(hi - lo, 0));
    f.offset.push_back(static_cast<int32_t>(f.weight.size()));
    for (int i = lo; i < mid; ++i) f.weight.push_back(static_cast<float>((i - edge[j]) / (edge[j + 1] - edge[j])));
    for (int i = mid; i < hi; ++i)
      f.weight.push_back(static_cast<float>((edge[j + 2] - i) / (edge[j + 2] - edge[j + 1])));
  }
  return f;
}

std::vector<float> dct_lifter_table(const MfccParams& p) {
  check_params(p);
  std::vector<float> dct(static_cast<size_t>(p.cepstra) * p.filters);
  for (int m = 0; m < p.cepstra; ++m) {
    const double scale = m == 0 ? std::sqrt(1.0 / p.filters) : std::sqrt(2.0 / p.filters);
    const double lift = p.lifter > 0 ? 1.0 + (p.lifter / 2.0) * std::sin(std::numbers::pi * m / p.lifter) : 1.0;
    for (int j = 0; j < p.filters; ++j)
      dct[static_cast<size_t>(m) * p.filters + j] =
          static_cast<float>(lift * scale * std::cos(std::numbers::pi * m * (2 * j + 1) / (2.0 * p.filters)));
  }
  return dct;
}

}  // namespace hl::cpu
