// Reading a whole text file (CSV, lists of paths) with limits, so that an endless or
// huge input (/dev/zero, /dev/urandom, a 3 GB log given by mistake) is refused with a
// clear message after reading at most `max_bytes`, instead of eating memory.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace hl {

struct TextFileLimits {
  uint64_t max_bytes = 0;       // the whole file
  uint64_t max_line_bytes = 0;  // one line, without its line end
};

// The limits of the CSV files (labels, predictions, annotations): 256 MiB, far above
// any real dataset (32k videos x 100 segments x 20 annotators is about 100 MB), and
// lines of 64 KiB (thousands of annotator columns).
inline constexpr TextFileLimits kCsvLimits{256ull << 20, 64ull << 10};

// Reads all of `path`. Throws hl::FormatError naming the file (and the line) when it
// cannot be opened, is a directory, is larger than limits.max_bytes (checked before
// reading for a regular file, while reading for pipes and devices), has a line longer
// than limits.max_line_bytes, holds a NUL byte (binary data, e.g. /dev/zero) or starts
// with a UTF-16 byte-order mark. A UTF-8 byte-order mark is left in the text.
std::string read_text_file(const std::string& path, const TextFileLimits& limits);

// `text` as it may appear in a message: in single quotes, control characters and bytes
// that are not UTF-8 as \xNN (a hostile name must not rewrite the terminal), cut after
// 60 bytes with the full length added.
std::string quoted_for_message(std::string_view text);

// Length of the valid UTF-8 sequence at text[i] (1 to 4) with its code point, or 0 when
// the bytes there are not valid UTF-8 (overlong forms and surrogates included).
size_t utf8_sequence(std::string_view text, size_t i, uint32_t* code_point);

// U+0000-U+001F and U+007F-U+009F.
inline bool is_control_character(uint32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

}  // namespace hl
