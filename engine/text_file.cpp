#include "engine/text_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engine/error.h"

namespace hl {
namespace {

// "256 MiB", "64 KiB", "100 bytes": limits as people write them.
std::string size_text(uint64_t n) {
  if (n >= (1ull << 20) && n % (1ull << 20) == 0) return std::to_string(n >> 20) + " MiB";
  if (n >= (1ull << 10) && n % (1ull << 10) == 0) return std::to_string(n >> 10) + " KiB";
  return std::to_string(n) + (n == 1 ? " byte" : " bytes");
}

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::string read_text_file(const std::string& path, const TextFileLimits& limits) {
  // A named pipe blocks here until its writer opens it, as with any reader (cat).
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) throw FormatError(path, std::string("cannot open the file: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) throw FormatError(path, std::string("cannot read the file: ") + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw FormatError(path, "is a directory, not a file");
  if (S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) > limits.max_bytes)
    throw FormatError(path, "the file is " + std::to_string(st.st_size) + " bytes, more than the limit of " +
                                size_text(limits.max_bytes));

  std::string text;
  if (S_ISREG(st.st_mode)) text.reserve(static_cast<size_t>(st.st_size));
  uint64_t line = 1, line_bytes = 0;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(f.fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw FormatError(path, std::string("read error: ") + std::strerror(errno));
    }
    if (n == 0) break;
    // A pipe or device has no size to check up front: stop as soon as it is too long.
    if (text.size() + static_cast<uint64_t>(n) > limits.max_bytes)
      throw FormatError(path, "more than the limit of " + size_text(limits.max_bytes) +
                                  " (an endless device or pipe, or a file far larger than expected)");
    const size_t old_size = text.size();
    text.append(buf, static_cast<size_t>(n));
    if (old_size < 2 && text.size() >= 2) {
      const auto b0 = static_cast<unsigned char>(text[0]), b1 = static_cast<unsigned char>(text[1]);
      if ((b0 == 0xFF && b1 == 0xFE) || (b0 == 0xFE && b1 == 0xFF))
        throw FormatError(path, "is UTF-16 text (it starts with a UTF-16 byte-order mark); save it as UTF-8");
    }
    for (size_t i = old_size; i < text.size(); ++i) {
      const char c = text[i];
      if (c == '\n') {
        ++line;
        line_bytes = 0;
      } else if (c == '\0') {
        throw FormatError(path + ":" + std::to_string(line), "a NUL byte: this is binary data, not a text file");
      } else if (c != '\r' && ++line_bytes > limits.max_line_bytes) {
        throw FormatError(path + ":" + std::to_string(line), "the line is longer than the limit of " +
                                                                 size_text(limits.max_line_bytes) +
                                                                 " (is this a text file?)");
      }
    }
  }
  return text;
}

size_t utf8_sequence(std::string_view text, size_t i, uint32_t* code_point) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = b(i);
  size_t len;
  uint32_t cp, min;
  if (lead < 0x80) {
    *code_point = lead;
    return 1;
  } else if ((lead & 0xE0) == 0xC0) {
    len = 2, cp = lead & 0x1F, min = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    len = 3, cp = lead & 0x0F, min = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    len = 4, cp = lead & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > text.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  *code_point = cp;
  return len;
}

std::string quoted_for_message(std::string_view text) {
  constexpr size_t kMaxShown = 60;
  static const char* hex = "0123456789abcdef";
  std::string out = "'";
  size_t i = 0;
  while (i < text.size() && i < kMaxShown) {
    uint32_t cp = 0;
    const size_t len = utf8_sequence(text, i, &cp);
    if (len != 0 && !is_control_character(cp)) {
      if (i + len > kMaxShown) break;  // never cut a character in two
      out.append(text.substr(i, len));
      i += len;
      continue;
    }
    // A control character or a byte that is not UTF-8, escaped byte by byte.
    const auto c = static_cast<unsigned char>(text[i]);
    out += "\\x";
    out += hex[c >> 4];
    out += hex[c & 15];
    ++i;
  }
  if (i < text.size()) return out + "...' (" + std::to_string(text.size()) + " bytes)";
  return out + "'";
}

}  // namespace hl
