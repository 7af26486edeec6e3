// A small, strict CSV reader (RFC 4180: comma-separated, fields optionally in double
// quotes with "" for a quote inside, CRLF or LF line ends). The first row is the header.
// Errors name the file and the line: "labels.csv:12: expected 3 fields, got 2".
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hl {

struct CsvRow {
  int64_t line = 0;  // 1-based line number where the row starts
  std::vector<std::string> fields;
};

struct CsvTable {
  std::string path;
  std::vector<std::string> header;
  std::vector<CsvRow> rows;  // every row has header.size() fields
  // Index of the column named `name`; throws hl::Error naming the file when absent.
  size_t column(const std::string& name) const;
};

// Reads a whole CSV file. Throws hl::Error (naming the file and line) when the file
// cannot be read, is a directory, is over the size limits of engine/text_file.h
// (kCsvLimits: 256 MiB, lines of 64 KiB; checked while reading, so /dev/zero or an
// endless pipe is refused at once), holds binary data or UTF-16, is empty, has an
// unterminated quote, or a row whose field count differs from the header's. Blank lines
// are skipped. A UTF-8 byte-order mark at the start (as spreadsheet programs write) is
// dropped.
CsvTable read_csv(const std::string& path);
// The text of a CSV file, read with those limits.
std::string read_csv_text(const std::string& path);
// The same as read_csv over text already in memory; `name` stands in for the path in
// messages.
CsvTable parse_csv(const std::string& text, const std::string& name);

// Parsers for fields, with messages naming file, line and column.
double csv_double(const CsvTable& table, const CsvRow& row, size_t column);  // finite only
int64_t csv_int(const CsvTable& table, const CsvRow& row, size_t column);    // >= 0

}  // namespace hl
