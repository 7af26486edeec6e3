// Output shared by the tools that report metrics (hl-eval, hl-train): aligned text
// tables, numbers as text, and an Evaluation as JSON in hl-eval's documented layout
// (docs/evaluation.md).
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/evaluation.h"

namespace hl::report {

// "0.123" ("-" for NaN).
std::string fixed(double v, int digits = 3);

// Prints rows to stdout: the first column left-aligned, the others right-aligned.
void print_table(const std::vector<std::vector<std::string>>& rows);

// {"mean": {key: value|null}, "count": N, "videos": {id: {"segments": n, key: value}},
//  "skipped": [{"video", "reason"}]}
nlohmann::ordered_json evaluation_json(const Evaluation& ev);

// Writes doc (indented) to path atomically; nothing when path is empty.
void write_json(const std::string& path, const nlohmann::ordered_json& doc);

}  // namespace hl::report
