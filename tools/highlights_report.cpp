// report.html of hl-highlights: see highlights_report.h.
#include "tools/highlights_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace hl::highlights_report {

namespace {

std::string num(double v, int digits = 1) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", digits, v);
  return text;
}

// "1:02:03.5" / "2:03.0": times a person reads.
std::string clock(double seconds) {
  const auto total = static_cast<int64_t>(std::floor(seconds));
  const double frac = seconds - static_cast<double>(total);
  char text[64];
  if (total >= 3600)
    std::snprintf(text, sizeof text, "%lld:%02lld:%04.1f", static_cast<long long>(total / 3600),
                  static_cast<long long>(total / 60 % 60), static_cast<double>(total % 60) + frac);
  else
    std::snprintf(text, sizeof text, "%lld:%04.1f", static_cast<long long>(total / 60), static_cast<double>(total % 60) + frac);
  return text;
}

// The timeline: segments on x (time), score on y; chosen segments shaded behind the line.
std::string timeline_svg(const Page& page) {
  const double width = 960, height = 220, left = 50, right = 10, top = 10, bottom = 30;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  const double duration = page.segments.empty() ? 1.0 : std::max(page.segments.back().end, 1e-9);
  float lo = 0, hi = 1;
  if (!page.segments.empty()) {
    lo = hi = page.segments.front().score;
    for (const Segment& s : page.segments) lo = std::min(lo, s.score), hi = std::max(hi, s.score);
  }
  if (hi - lo < 1e-6f) hi = lo + 1e-6f;
  const auto x = [&](double t) { return left + plot_w * t / duration; };
  const auto y = [&](double v) { return top + plot_h * (1.0 - (v - lo) / (hi - lo)); };
  std::string svg = "<svg class=\"timeline\" viewBox=\"0 0 " + num(width, 0) + " " + num(height, 0) +
                    "\" width=\"100%\" role=\"img\" aria-label=\"score of every segment over time\">\n";
  for (int64_t c : page.chosen) {
    const Segment& s = page.segments[static_cast<size_t>(c)];
    svg += "<rect class=\"chosen\" data-segment=\"" + std::to_string(s.index) + "\" x=\"" + num(x(s.start), 2) +
           "\" y=\"" + num(top, 0) + "\" width=\"" + num(x(s.end) - x(s.start), 2) + "\" height=\"" + num(plot_h, 0) +
           "\"><title>segment " + std::to_string(s.index) + ": " + clock(s.start) + "-" + clock(s.end) + ", score " +
           num(s.score, 4) + ", rank " + std::to_string(s.rank) + "</title></rect>\n";
  }
  std::string points;
  for (const Segment& s : page.segments)
    points += num(x((s.start + s.end) / 2), 2) + "," + num(y(s.score), 2) + " ";
  svg += "<polyline class=\"scores\" points=\"" + points + "\"/>\n";
  svg += "<line class=\"axis\" x1=\"" + num(left, 0) + "\" y1=\"" + num(top + plot_h, 0) + "\" x2=\"" +
         num(left + plot_w, 0) + "\" y2=\"" + num(top + plot_h, 0) + "\"/>\n";
  for (int k = 0; k <= 4; ++k) {
    const double t = duration * k / 4;
    svg += "<text x=\"" + num(x(t), 1) + "\" y=\"" + num(height - 8, 0) + "\" text-anchor=\"middle\">" + clock(t) +
           "</text>\n";
  }
  svg += "<text x=\"" + num(left - 6, 0) + "\" y=\"" + num(top + 10, 0) + "\" text-anchor=\"end\">" + num(hi, 3) +
         "</text>\n<text x=\"" + num(left - 6, 0) + "\" y=\"" + num(top + plot_h, 0) + "\" text-anchor=\"end\">" +
         num(lo, 3) + "</text>\n</svg>\n";
  return svg;
}

}  // namespace

std::string escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string render(const Page& page) {
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>Highlights of " + escape(page.video_id) + "</title>\n<style>\n"
      "body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1000px}\n"
      "svg.timeline{background:#fafafa;border:1px solid #ddd}\n"
      "svg .chosen{fill:#f5b041;opacity:.45}\nsvg .scores{fill:none;stroke:#1f618d;stroke-width:1.5}\n"
      "svg .axis{stroke:#888}\nsvg text{font-size:12px;fill:#555}\n"
      ".cards{display:flex;flex-wrap:wrap;gap:1em}\n"
      "figure.highlight{margin:0;border:1px solid #ddd;padding:.5em;width:320px}\n"
      "figure.highlight img{width:100%;display:block}\ntable{border-collapse:collapse}\n"
      "td,th{padding:.2em .8em;text-align:left;border-bottom:1px solid #eee}\n"
      "</style>\n</head>\n<body>\n";
  html += "<h1>Highlights of " + escape(page.video_id) + "</h1>\n";
  html += "<p>" + escape(page.video) + ": " + clock(page.duration_seconds) + ", " +
          std::to_string(page.segments.size()) + " segments of 5 s scored, " + std::to_string(page.chosen.size()) +
          " chosen (shaded).</p>\n";
  html += timeline_svg(page);
  html += "<h2>Chosen segments</h2>\n<div class=\"cards\">\n";
  for (size_t i = 0; i < page.chosen.size(); ++i) {
    const Segment& s = page.segments[static_cast<size_t>(page.chosen[i])];
    html += "<figure class=\"highlight\" data-segment=\"" + std::to_string(s.index) + "\">\n";
    if (i < page.thumbnails.size())
      html += "<img class=\"thumb\" alt=\"frame at " + clock((s.start + s.end) / 2) + "\" src=\"" + page.thumbnails[i] +
              "\">\n";
    html += "<figcaption>segment " + std::to_string(s.index) + ": " + clock(s.start) + " &ndash; " + clock(s.end) +
            "<br>score " + num(s.score, 4) + ", rank " + std::to_string(s.rank) + "</figcaption>\n</figure>\n";
  }
  html += "</div>\n<h2>Model</h2>\n<table>\n<tr><th>model file</th><td>" + escape(page.model) +
          "</td></tr>\n<tr><th>features</th><td>" + escape(page.features) + "</td></tr>\n";
  if (!page.provenance.empty())
    html += "<tr><th>made with</th><td><pre>" + escape(page.provenance) + "</pre></td></tr>\n";
  html += "</table>\n</body>\n</html>\n";
  return html;
}

}  // namespace hl::highlights_report
