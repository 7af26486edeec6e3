// Small SVG charts for the evaluation tools, in the paper's conventions:
//  - box plots (Fig. 2): one box per series from the 25th to the 75th percentile, the
//    median as a line, the mean as a triangle, whiskers at the 5th and 95th
//    percentiles, and points beyond the whiskers drawn as outliers;
//  - histograms (Fig. 3).
// Percentiles interpolate linearly between order statistics (numpy's default).
// The SVG is self-contained text that any browser opens.
#pragma once
#include <string>
#include <vector>

namespace hl::plots {

struct BoxStats {
  double p05 = 0, p25 = 0, median = 0, p75 = 0, p95 = 0, mean = 0;
  std::vector<double> outliers;  // values below p05 or above p95
};
// Throws hl::Error for an empty series.
BoxStats box_stats(std::vector<double> values);

// One box per series; `names` label the boxes, `metric` the vertical axis.
std::string box_plot_svg(const std::vector<std::string>& names, const std::vector<std::vector<double>>& series,
                         const std::string& metric, const std::string& title);

// A histogram of `values` over [lo, hi] in `bins` equal bins (values outside are
// clamped into the end bins).
std::string histogram_svg(const std::vector<double>& values, double lo, double hi, int bins, const std::string& label,
                          const std::string& title);

}  // namespace hl::plots
