// The whole of a text as a number (std::from_chars: no leading '+' or space, nothing
// after the number, in range), or nothing. hl's one reader of numbers in metadata and
// on command lines; the text it reads back is what hl::float_text (engine/float_text.h)
// and std::to_string write.
// Tests: tests/model/test_parameter_set.cpp (MetadataReader.ParsesWholeNumbersOnly), and through its users.
#pragma once
#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>
#include <system_error>

namespace hl {

template <typename T>
std::optional<T> parse_number(std::string_view text) {
  T value{};
  const auto r = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

inline std::optional<int64_t> parse_integer(std::string_view text) { return parse_number<int64_t>(text); }
inline std::optional<float> parse_float(std::string_view text) { return parse_number<float>(text); }

}  // namespace hl
