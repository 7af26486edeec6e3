#include "engine/segment_scores.h"

#include <optional>

#include "engine/csv.h"
#include "engine/error.h"

namespace hl {
namespace {

// Rows of one video, keyed by segment, before the gap check.
using Sparse = std::map<std::string, std::map<int64_t, std::vector<double>>>;

Sparse collect(const CsvTable& table, const std::vector<size_t>& value_columns) {
  const size_t video_col = table.column("video");
  const size_t segment_col = table.column("segment");
  Sparse sparse;
  for (const CsvRow& row : table.rows) {
    const std::string& video = row.fields[video_col];
    if (video.empty()) throw FormatError(table.path + ":" + std::to_string(row.line), "empty video id");
    const int64_t segment = csv_int(table, row, segment_col);
    std::vector<double> values;
    for (size_t c : value_columns) values.push_back(csv_double(table, row, c));
    if (!sparse[video].emplace(segment, std::move(values)).second)
      throw FormatError(table.path + ":" + std::to_string(row.line),
                        "video '" + video + "' segment " + std::to_string(segment) + " appears twice");
  }
  if (sparse.empty()) throw FormatError(table.path, "no rows after the header");
  return sparse;
}

void check_dense(const CsvTable& table, const std::string& video, const std::map<int64_t, std::vector<double>>& rows) {
  int64_t expected = 0;
  for (const auto& [segment, values] : rows) {
    if (segment != expected)
      throw FormatError(table.path, "video '" + video + "' has no row for segment " + std::to_string(expected) +
                                        " (segments must be numbered 0..n-1 without gaps)");
    ++expected;
  }
}

}  // namespace

SegmentScores read_segment_scores(const std::string& path, const std::string& score_column) {
  const CsvTable table = read_csv(path);
  size_t column;
  if (!score_column.empty()) {
    column = table.column(score_column);
  } else {
    std::optional<size_t> named;
    for (size_t i = 0; i < table.header.size(); ++i)
      if (table.header[i] == "score") named = i;
    if (!named && table.header.size() < 3)
      throw FormatError(path, "expected the columns video,segment,score (the header has " +
                                  std::to_string(table.header.size()) + " columns)");
    column = named ? *named : 2;
  }
  SegmentScores out;
  for (const auto& [video, rows] : collect(table, {column})) {
    check_dense(table, video, rows);
    auto& scores = out[video];
    for (const auto& [segment, values] : rows) scores.push_back(values[0]);
  }
  return out;
}

Annotations read_annotations(const std::string& path) {
  const CsvTable table = read_csv(path);
  const size_t video_col = table.column("video");
  const size_t segment_col = table.column("segment");
  Annotations out;
  std::vector<size_t> columns;
  for (size_t i = 0; i < table.header.size(); ++i) {
    if (i == video_col || i == segment_col) continue;
    columns.push_back(i);
    out.annotators.push_back(table.header[i]);
  }
  if (columns.size() < 2)
    throw FormatError(path, "expected video,segment and at least 2 annotator columns (found " +
                                std::to_string(columns.size()) + ")");
  for (const auto& [video, rows] : collect(table, columns)) {
    check_dense(table, video, rows);
    auto& ratings = out.videos[video];
    ratings.assign(columns.size(), {});
    for (const auto& [segment, values] : rows)
      for (size_t j = 0; j < values.size(); ++j) ratings[j].push_back(values[j]);
  }
  return out;
}

}  // namespace hl
