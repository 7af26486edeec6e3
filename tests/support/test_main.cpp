// main() of every test program. Like gtest_main, except for the exit code: 77 when at
// least one test was skipped (e.g. a gpu test on a machine without a GPU) and none
// failed, so ctest shows it as "Skipped" (SKIP_RETURN_CODE 77 in tests/CMakeLists.txt)
// while any failure, including one in SetUpTestSuite, stays a failure.
#include <gtest/gtest.h>

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const int result = RUN_ALL_TESTS();
  if (result != 0) return result;
  const auto* unit = ::testing::UnitTest::GetInstance();
  if (unit->skipped_test_count() > 0 && unit->successful_test_count() == 0) return 77;
  return 0;
}
