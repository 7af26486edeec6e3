// The shortest decimal text of a float that reads back to exactly the same float
// (std::to_chars), as hl writes floats into safetensors metadata and messages.
#pragma once
#include <charconv>
#include <string>

namespace hl {

inline std::string float_text(float v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

}  // namespace hl
