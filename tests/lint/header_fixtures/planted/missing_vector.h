// Fixture for tests/lint/test_check_headers.sh: uses std::vector but includes only
// <functional> and <string>, leaning on <functional> to bring <vector> along. GCC 12's
// libstdc++ and libc++ in its default C++20 mode do; libc++ without transitive includes
// does not, so tools/check-headers.sh must name this header and fail.
#pragma once
#include <functional>
#include <string>

inline std::vector<std::string> planted_names() { return {"a", "b"}; }
