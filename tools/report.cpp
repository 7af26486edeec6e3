#include "tools/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "engine/atomic_file.h"

namespace hl::report {

using nlohmann::ordered_json;

std::string fixed(double v, int digits) {
  if (std::isnan(v)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size(); ++c) {
      if (width.size() <= c) width.push_back(0);
      width[c] = std::max(width[c], row[c].size());
    }
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      const std::string pad(width[c] - row[c].size(), ' ');
      line += c == 0 ? row[c] + pad : "  " + pad + row[c];
    }
    std::printf("%s\n", line.c_str());
  }
}

ordered_json evaluation_json(const Evaluation& ev) {
  ordered_json mean = ordered_json::object(), videos = ordered_json::object(), skipped = ordered_json::array();
  for (size_t i = 0; i < ev.keys.size(); ++i)
    mean[ev.keys[i]] = std::isnan(ev.mean[i]) ? ordered_json() : ordered_json(ev.mean[i]);
  for (const auto& v : ev.videos) {
    ordered_json e = {{"segments", v.segments}};
    for (size_t i = 0; i < ev.keys.size(); ++i) e[ev.keys[i]] = v.values[i];
    videos[v.video] = e;
  }
  for (const auto& s : ev.skipped) skipped.push_back({{"video", s.video}, {"reason", s.reason}});
  return {{"mean", mean}, {"count", ev.videos.size()}, {"videos", videos}, {"skipped", skipped}};
}

void write_json(const std::string& path, const ordered_json& doc) {
  if (!path.empty()) write_text_atomic(path, doc.dump(2) + "\n");
}

}  // namespace hl::report
