#include "weights/quoted_name.h"

#include <cstdio>

namespace hl {

std::string quoted_name(const std::string& name, size_t max_bytes) {
  const std::string s = name.size() > max_bytes ? name.substr(0, max_bytes) + "..." : name;
  std::string out = "'";
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "'";
}

}  // namespace hl
