#include "engine/exact_decimal.h"

#include <algorithm>
#include <numeric>

namespace hl {
namespace {

constexpr int kMaxSignificantDigits = 36;  // 10^36 < 2^127 / 10: one more digit always fits
constexpr int kMaxExponent = 400;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

template <typename Key>
std::vector<double> dense_ranks_of(const std::vector<Key>& keys) {
  std::vector<size_t> order(keys.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return keys[a] < keys[b]; });
  std::vector<double> ranks(keys.size());
  double rank = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    if (i > 0 && keys[order[i - 1]] < keys[order[i]]) ++rank;
    ranks[order[i]] = rank;
  }
  return ranks;
}

}  // namespace

std::optional<ExactDecimal> parse_exact_decimal(std::string_view text) {
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) negative = text[i++] == '-';
  ExactDecimal d;
  int significant = 0;
  bool any_digit = false;
  auto take = [&](char c, bool fraction) {
    any_digit = true;
    if (fraction) --d.exponent;
    if (d.digits == 0 && c == '0') return true;  // a leading zero adds nothing
    if (significant == kMaxSignificantDigits) return false;
    d.digits = d.digits * 10 + (c - '0');
    ++significant;
    return true;
  };
  for (; i < text.size() && is_digit(text[i]); ++i)
    if (!take(text[i], false)) return std::nullopt;
  if (i < text.size() && text[i] == '.')
    for (++i; i < text.size() && is_digit(text[i]); ++i)
      if (!take(text[i], true)) return std::nullopt;
  if (!any_digit) return std::nullopt;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool negative_exponent = false;
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) negative_exponent = text[i++] == '-';
    if (i == text.size()) return std::nullopt;
    int e = 0;
    for (; i < text.size() && is_digit(text[i]); ++i) {
      e = e * 10 + (text[i] - '0');
      if (e > kMaxExponent) return std::nullopt;
    }
    d.exponent += negative_exponent ? -e : e;
  }
  if (i != text.size() || d.exponent > kMaxExponent || d.exponent < -2 * kMaxExponent) return std::nullopt;
  if (d.digits == 0) return ExactDecimal{};  // every zero alike, whatever its exponent
  if (negative) d.digits = -d.digits;
  return d;
}

std::optional<std::vector<double>> exact_sum_ranks(const std::vector<std::vector<ExactDecimal>>& values) {
  if (values.empty()) return std::vector<double>{};
  // The common scale: the smallest exponent of a nonzero value.
  int scale = 0;
  bool any_nonzero = false;
  for (const auto& annotator : values)
    for (const ExactDecimal& v : annotator)
      if (v.digits != 0) {
        scale = any_nonzero ? std::min(scale, v.exponent) : v.exponent;
        any_nonzero = true;
      }
  std::vector<__int128> sums(values[0].size(), 0);
  for (const auto& annotator : values) {
    for (size_t s = 0; s < annotator.size() && s < sums.size(); ++s) {
      __int128 v = annotator[s].digits;
      if (v != 0)
        for (int e = annotator[s].exponent; e > scale; --e)
          if (__builtin_mul_overflow(v, static_cast<__int128>(10), &v)) return std::nullopt;
      if (__builtin_add_overflow(sums[s], v, &sums[s])) return std::nullopt;
    }
  }
  return dense_ranks_of(sums);
}

std::vector<double> dense_ranks(const std::vector<double>& keys) { return dense_ranks_of(keys); }

}  // namespace hl
