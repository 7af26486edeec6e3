// Fixture for tests/lint/test_check_headers.sh: the function of ../planted/missing_vector.h
// with every header it uses; tools/check-headers.sh must pass it.
#pragma once
#include <string>
#include <vector>

inline std::vector<std::string> complete_names() { return {"a", "b"}; }
