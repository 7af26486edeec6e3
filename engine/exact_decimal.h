// Numbers of a CSV file taken exactly as their decimal text says, for comparisons that
// must not depend on binary rounding: the mean annotation of a segment is compared
// with the others' for Kendall's tau-b (ties count), and "0.1+0.2" must tie "0.3+0"
// just as "1+2+4" must tie "4+2+1" whatever order the annotators come in.
#pragma once
#include <optional>
#include <string_view>
#include <vector>

namespace hl {

// value = digits · 10^exponent, exactly.
struct ExactDecimal {
  __int128 digits = 0;
  int exponent = 0;
};

// A plain decimal number: [+-]digits[.digits][(e|E)[+-]digits], with at most 36
// significant digits and an exponent within ±400. nullopt for anything else (the
// caller then falls back to binary arithmetic).
std::optional<ExactDecimal> parse_exact_decimal(std::string_view text);

// For values[j][s] (j: annotator, s: segment), the dense rank of each segment's sum
// over j (0 = the smallest sum; equal sums share a rank). The mean over a fixed number
// of annotators orders the segments as the sum does, so these are the ranks of the
// mean annotation. The sums are exact (integers at one common scale); nullopt when
// they do not fit 127 bits (values spanning more than ~38 orders of magnitude).
std::optional<std::vector<double>> exact_sum_ranks(const std::vector<std::vector<ExactDecimal>>& values);

// Dense ranks of `keys` (0 = the smallest; equal keys share a rank), as doubles.
std::vector<double> dense_ranks(const std::vector<double>& keys);

}  // namespace hl
