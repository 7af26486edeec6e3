#include "engine/csv.h"

#include <charconv>
#include <cmath>
#include <string_view>

#include "engine/error.h"
#include "engine/text_file.h"

namespace hl {

size_t CsvTable::column(const std::string& name) const {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return i;
  // Names as they are (quoted, escaped and cut), and at most 10 of them.
  std::string have;
  for (size_t i = 0; i < header.size() && i < 10; ++i) have += (i ? ", " : "") + quoted_for_message(header[i]);
  if (header.size() > 10) have += ", ... (" + std::to_string(header.size()) + " columns)";
  throw FormatError(path, "no column '" + name + "' in the header (it has: " + have + ")");
}

CsvTable parse_csv(const std::string& text, const std::string& name) {
  CsvTable table;
  table.path = name;
  std::vector<std::string> fields;
  std::string field;
  int64_t line = 1, row_start = 1;
  bool in_quotes = false, row_has_content = false;
  auto error = [&](int64_t at, const std::string& what) { return FormatError(name + ":" + std::to_string(at), what); };
  auto end_row = [&]() {
    if (row_has_content) {
      fields.push_back(field);
      if (table.header.empty()) {
        table.header = fields;
      } else {
        if (fields.size() != table.header.size())
          throw error(row_start, "expected " + std::to_string(table.header.size()) + " fields, got " +
                                     std::to_string(fields.size()));
        table.rows.push_back({row_start, fields});
      }
    }
    fields.clear();
    field.clear();
    row_has_content = false;
  };
  // A UTF-8 byte-order mark is not part of the first column's name.
  constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";
  const size_t start = std::string_view(text).substr(0, kUtf8Bom.size()) == kUtf8Bom ? kUtf8Bom.size() : 0;
  for (size_t i = start; i < text.size(); ++i) {
    const char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"') {
      if (!field.empty()) throw error(line, "a quote inside an unquoted field");
      in_quotes = true;
      row_has_content = true;
    } else if (c == ',') {
      fields.push_back(field);
      field.clear();
      row_has_content = true;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      end_row();
      ++line;
      row_start = line;
    } else {
      if (!row_has_content) row_start = line;
      field += c;
      row_has_content = true;
    }
  }
  if (in_quotes) throw error(row_start, "a quoted field is never closed");
  end_row();
  if (table.header.empty()) throw FormatError(name, "the file is empty (a CSV header was expected)");
  return table;
}

std::string read_csv_text(const std::string& path) { return read_text_file(path, kCsvLimits); }

CsvTable read_csv(const std::string& path) { return parse_csv(read_csv_text(path), path); }

namespace {
std::string where(const CsvTable& table, const CsvRow& row) { return table.path + ":" + std::to_string(row.line); }
}  // namespace

double csv_double(const CsvTable& table, const CsvRow& row, size_t column) {
  const std::string& text = row.fields.at(column);
  double value = 0;
  const char* begin = text.data();
  const char* end = begin + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(value))
    throw FormatError(where(table, row),
                      "column " + quoted_for_message(table.header[column]) + ": " + quoted_for_message(text) +
                          " is not a finite number");
  return value;
}

int64_t csv_int(const CsvTable& table, const CsvRow& row, size_t column) {
  const std::string& text = row.fields.at(column);
  int64_t value = -1;
  const char* begin = text.data();
  const char* end = begin + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value < 0)
    throw FormatError(where(table, row),
                      "column " + quoted_for_message(table.header[column]) + ": " + quoted_for_message(text) +
                          " is not a non-negative integer");
  return value;
}

}  // namespace hl
