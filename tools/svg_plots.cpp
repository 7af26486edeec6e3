#include "tools/svg_plots.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "engine/error.h"
#include "engine/metrics.h"

namespace hl::plots {
namespace {

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}
std::string label_num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}
std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

// Plot frame: 60 px left margin for the axis labels, 40 px top for the title, 50 px
// bottom for the box names.
struct Frame {
  double width, height, left = 60, top = 40, bottom = 50, right = 20;
  double lo, hi;  // value range of the vertical axis
  double y(double v) const { return top + (hi - v) / (hi - lo) * (height - top - bottom); }
};

std::string header(const Frame& f, const std::string& title) {
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(f.width) + "\" height=\"" +
                  num(f.height) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s += "<text x=\"" + num(f.width / 2) + "\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">" + escape(title) +
       "</text>\n";
  return s;
}

std::string y_axis(const Frame& f, const std::string& label) {
  std::string s;
  for (int i = 0; i <= 5; ++i) {
    const double v = f.lo + (f.hi - f.lo) * i / 5.0;
    s += "<line x1=\"" + num(f.left) + "\" x2=\"" + num(f.width - f.right) + "\" y1=\"" + num(f.y(v)) + "\" y2=\"" +
         num(f.y(v)) + "\" stroke=\"#ddd\"/>\n";
    s += "<text x=\"" + num(f.left - 6) + "\" y=\"" + num(f.y(v) + 4) + "\" text-anchor=\"end\">" + label_num(v) +
         "</text>\n";
  }
  s += "<text transform=\"translate(14," + num((f.top + f.height - f.bottom) / 2) +
       ") rotate(-90)\" text-anchor=\"middle\">" + escape(label) + "</text>\n";
  return s;
}

}  // namespace

BoxStats box_stats(std::vector<double> values) {
  if (values.empty()) throw Error("box plot of an empty series");
  BoxStats b;
  b.p05 = metrics::quantile(values, 0.05);
  b.p25 = metrics::quantile(values, 0.25);
  b.median = metrics::quantile(values, 0.5);
  b.p75 = metrics::quantile(values, 0.75);
  b.p95 = metrics::quantile(values, 0.95);
  double sum = 0;
  for (double v : values) sum += v;
  b.mean = sum / static_cast<double>(values.size());
  for (double v : values)
    if (v < b.p05 || v > b.p95) b.outliers.push_back(v);
  return b;
}

std::string box_plot_svg(const std::vector<std::string>& names, const std::vector<std::vector<double>>& series,
                         const std::string& metric, const std::string& title) {
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& s : series)
    for (double v : s) lo = std::min(lo, v), hi = std::max(hi, v);
  if (!std::isfinite(lo)) throw Error("box plot: no values");
  const double pad = std::max(0.02, (hi - lo) * 0.05);
  Frame f{120.0 * static_cast<double>(series.size()) + 80, 360, 60, 40, 50, 20, lo - pad, hi + pad};
  std::string svg = header(f, title) + y_axis(f, metric);
  for (size_t i = 0; i < series.size(); ++i) {
    const BoxStats b = box_stats(series[i]);
    const double cx = f.left + 60 + 120.0 * static_cast<double>(i), w = 60;
    auto line = [&](double x1, double y1, double x2, double y2, const char* extra) {
      svg += "<line x1=\"" + num(x1) + "\" y1=\"" + num(y1) + "\" x2=\"" + num(x2) + "\" y2=\"" + num(y2) +
             "\" stroke=\"black\"" + extra + "/>\n";
    };
    line(cx, f.y(b.p95), cx, f.y(b.p75), "");  // whiskers
    line(cx, f.y(b.p25), cx, f.y(b.p05), "");
    line(cx - w / 4, f.y(b.p95), cx + w / 4, f.y(b.p95), "");
    line(cx - w / 4, f.y(b.p05), cx + w / 4, f.y(b.p05), "");
    svg += "<rect x=\"" + num(cx - w / 2) + "\" y=\"" + num(f.y(b.p75)) + "\" width=\"" + num(w) + "\" height=\"" +
           num(f.y(b.p25) - f.y(b.p75)) + "\" fill=\"#9ecae1\" stroke=\"black\"/>\n";
    line(cx - w / 2, f.y(b.median), cx + w / 2, f.y(b.median), " stroke-width=\"2\"");
    const double my = f.y(b.mean);  // the mean: a triangle
    svg += "<polygon points=\"" + num(cx - 5) + "," + num(my + 4) + " " + num(cx + 5) + "," + num(my + 4) + " " +
           num(cx) + "," + num(my - 5) + "\" fill=\"#e6550d\"/>\n";
    for (double o : b.outliers)
      svg += "<circle cx=\"" + num(cx) + "\" cy=\"" + num(f.y(o)) + "\" r=\"2.5\" fill=\"none\" stroke=\"black\"/>\n";
    svg += "<text x=\"" + num(cx) + "\" y=\"" + num(f.height - f.bottom + 18) + "\" text-anchor=\"middle\">" +
           escape(names[i]) + "</text>\n";
  }
  return svg + "</svg>\n";
}

std::string histogram_svg(const std::vector<double>& values, double lo, double hi, int bins, const std::string& label,
                          const std::string& title) {
  if (bins < 1 || !(hi > lo)) throw Error("histogram: need bins >= 1 and hi > lo");
  std::vector<int> count(static_cast<size_t>(bins), 0);
  for (double v : values) {
    const int b = static_cast<int>(std::floor((v - lo) / (hi - lo) * bins));
    ++count[static_cast<size_t>(std::clamp(b, 0, bins - 1))];
  }
  const int most = std::max(1, *std::max_element(count.begin(), count.end()));
  Frame f{520, 360, 60, 40, 50, 20, 0, static_cast<double>(most)};
  std::string svg = header(f, title) + y_axis(f, "videos");
  const double bw = (f.width - f.left - f.right) / bins;
  for (int i = 0; i < bins; ++i) {
    const double x = f.left + bw * i;
    svg += "<rect x=\"" + num(x + 1) + "\" y=\"" + num(f.y(count[static_cast<size_t>(i)])) + "\" width=\"" +
           num(bw - 2) + "\" height=\"" + num(f.y(0) - f.y(count[static_cast<size_t>(i)])) +
           "\" fill=\"#9ecae1\" stroke=\"black\"/>\n";
  }
  for (int i = 0; i <= bins; i += std::max(1, bins / 5))
    svg += "<text x=\"" + num(f.left + bw * i) + "\" y=\"" + num(f.height - f.bottom + 16) +
           "\" text-anchor=\"middle\">" + label_num(lo + (hi - lo) * i / bins) + "</text>\n";
  svg += "<text x=\"" + num((f.left + f.width - f.right) / 2) + "\" y=\"" + num(f.height - 10) +
         "\" text-anchor=\"middle\">" + escape(label) + "</text>\n";
  return svg + "</svg>\n";
}

}  // namespace hl::plots
