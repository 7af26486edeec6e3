#include "engine/segment_scores.h"

#include <algorithm>
#include <optional>

#include "engine/csv.h"
#include "engine/error.h"
#include "engine/exact_decimal.h"
#include "engine/text_file.h"
#include "engine/video_id.h"

namespace hl {
namespace {

std::string where(const CsvTable& table, const CsvRow& row) { return table.path + ":" + std::to_string(row.line); }

// video -> segment -> its row, after the id, segment number and duplicate checks, in
// segment order, with no gap (segments 0..n-1).
using Rows = std::map<std::string, std::vector<const CsvRow*>>;

Rows collect(const CsvTable& table) {
  const size_t video_col = table.column("video");
  const size_t segment_col = table.column("segment");
  std::map<std::string, std::map<int64_t, const CsvRow*>> sparse;
  for (const CsvRow& row : table.rows) {
    const std::string& video = row.fields[video_col];
    validate_video_id(video, where(table, row));
    const int64_t segment = csv_int(table, row, segment_col);
    if (!sparse[video].emplace(segment, &row).second)
      throw FormatError(where(table, row),
                        "video '" + video + "' segment " + std::to_string(segment) + " appears twice");
  }
  if (sparse.empty()) throw FormatError(table.path, "no rows after the header");
  Rows rows;
  for (const auto& [video, by_segment] : sparse) {
    int64_t expected = 0;
    for (const auto& [segment, row] : by_segment) {
      if (segment != expected)
        throw FormatError(table.path, "video '" + video + "' has no row for segment " + std::to_string(expected) +
                                          " (segments must be numbered 0..n-1 without gaps)");
      ++expected;
    }
    auto& list = rows[video];
    for (const auto& [segment, row] : by_segment) list.push_back(row);
  }
  return rows;
}

// Order-independent ranks of each segment's mean rating: exact from the decimal text
// when it fits, else a sum in double of the segment's ratings sorted ascending.
std::vector<double> mean_ranks(const std::vector<const CsvRow*>& rows,
                               const std::vector<size_t>& columns, const std::vector<std::vector<double>>& ratings) {
  std::vector<std::vector<ExactDecimal>> exact(columns.size(), std::vector<ExactDecimal>(rows.size()));
  bool all_exact = true;
  for (size_t j = 0; j < columns.size() && all_exact; ++j)
    for (size_t s = 0; s < rows.size() && all_exact; ++s) {
      const auto d = parse_exact_decimal(rows[s]->fields[columns[j]]);
      if (d) exact[j][s] = *d;
      all_exact = d.has_value();
    }
  if (all_exact)
    if (auto ranks = exact_sum_ranks(exact)) return *ranks;
  std::vector<double> sums(rows.size(), 0.0);
  for (size_t s = 0; s < rows.size(); ++s) {
    std::vector<double> values;
    for (const auto& annotator : ratings) values.push_back(annotator[s]);
    std::sort(values.begin(), values.end());
    for (double v : values) sums[s] += v;
  }
  return dense_ranks(sums);
}

}  // namespace

SegmentScores parse_segment_scores(const std::string& text, const std::string& name, ScoreKind kind,
                                   const std::string& score_column) {
  const CsvTable table = parse_csv(text, name);
  size_t column;
  if (!score_column.empty()) {
    column = table.column(score_column);
  } else {
    std::optional<size_t> named;
    for (size_t i = 0; i < table.header.size(); ++i)
      if (table.header[i] == "score") named = i;
    if (!named && table.header.size() < 3)
      throw FormatError(name, "expected the columns video,segment,score (the header has " +
                                  std::to_string(table.header.size()) + " columns)");
    column = named ? *named : 2;
  }
  SegmentScores out;
  for (const auto& [video, rows] : collect(table)) {
    auto& scores = out[video];
    for (const CsvRow* row : rows) {
      const double score = csv_double(table, *row, column);
      if (kind == ScoreKind::Labels && score < 0)
        throw FormatError(where(table, *row), "column " + quoted_for_message(table.header[column]) + ": the label " +
                                                  row->fields[column] +
                                                  " is negative; labels are the gains of NDCG and must be >= 0 "
                                                  "(shift the labels, e.g. subtract the smallest one)");
      scores.push_back(score);
    }
  }
  return out;
}

SegmentScores read_segment_scores(const std::string& path, ScoreKind kind, const std::string& score_column) {
  return parse_segment_scores(read_csv_text(path), path, kind, score_column);
}

Annotations parse_annotations(const std::string& text, const std::string& name) {
  const CsvTable table = parse_csv(text, name);
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
    throw FormatError(name, "expected video,segment and at least 2 annotator columns (found " +
                                std::to_string(columns.size()) + ")");
  for (const auto& [video, rows] : collect(table)) {
    auto& ratings = out.videos[video];
    ratings.assign(columns.size(), {});
    for (const CsvRow* row : rows)
      for (size_t j = 0; j < columns.size(); ++j) ratings[j].push_back(csv_double(table, *row, columns[j]));
    out.mean_ranks[video] = mean_ranks(rows, columns, ratings);
  }
  return out;
}

Annotations read_annotations(const std::string& path) { return parse_annotations(read_csv_text(path), path); }

}  // namespace hl
