// A counting replacement of the global operator new, for the programs of tests/embed that
// count what a stream allocates (test_highlight_detector, test_stream_allocations,
// test_stream_allocations_faces). tests/embed/counting_new.cpp replaces every form of
// operator new and delete with malloc/free; while g_counting is set, each operator new
// call adds one to g_allocations. Link counting_new.cpp into a program of its own only:
// the replacement applies to the whole program.
#pragma once
#include <atomic>
#include <cstdint>

namespace hl::test {
extern std::atomic<bool> g_counting;
extern std::atomic<int64_t> g_allocations;
}  // namespace hl::test
