#include "pipeline/input_statistics.h"

#include <cmath>
#include <map>
#include <vector>

#include "engine/error.h"

namespace hl {

namespace {

// Running (count, mean, M2) per channel, merged a segment at a time.
struct Moments {
  double count = 0;
  std::vector<double> mean, m2;  // [C]
};

// Adds the values x[r * C + c] (r < rows) of every channel c: the block's own mean and
// M2 by two passes, then Chan et al.'s pairwise merge into `m`.
void merge_block(Moments& m, const float* x, int64_t rows, int64_t channels) {
  std::vector<double> mean(static_cast<size_t>(channels), 0.0), m2(static_cast<size_t>(channels), 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < channels; ++c) mean[static_cast<size_t>(c)] += x[r * channels + c];
  for (double& v : mean) v /= static_cast<double>(rows);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < channels; ++c) {
      const double d = x[r * channels + c] - mean[static_cast<size_t>(c)];
      m2[static_cast<size_t>(c)] += d * d;
    }
  if (m.count == 0) {
    m = {static_cast<double>(rows), std::move(mean), std::move(m2)};
    return;
  }
  const double na = m.count, nb = static_cast<double>(rows), n = na + nb;
  for (size_t c = 0; c < mean.size(); ++c) {
    const double delta = mean[c] - m.mean[c];
    m.mean[c] += delta * nb / n;
    m.m2[c] += m2[c] + delta * delta * na * nb / n;
  }
  m.count = n;
}

}  // namespace

InputNormalisation compute_input_normalisation(const SegmentDataset& data, std::span<const size_t> segments) {
  if (segments.empty()) throw Error("input normalisation: no training segments to compute the statistics from");
  std::map<Feature, Moments> moments;
  for (const size_t i : segments) {
    const SegmentBatch b = data.batch(std::span<const size_t>(&i, 1));
    for (const auto& [f, t] : b.inputs) {
      const int64_t c = InputNormalisation::channels(f);
      merge_block(moments[f], t.data<float>(), t.numel() / c, c);  // [1, rows, ...] as [values / C, C]
    }
  }
  std::map<Feature, ChannelStatistics> stats;
  for (const auto& [f, m] : moments) {
    ChannelStatistics& s = stats[f];
    s.mean = m.mean;
    for (double v : m.m2) s.std.push_back(std::sqrt(v / m.count));
  }
  return InputNormalisation(stats);
}

}  // namespace hl
