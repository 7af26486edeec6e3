# The op table (tests/ops/op_table.h) as a library, shared by its test programs
# (tests/ops/CMakeLists.txt) and by hl-bench (bench/bench_op_table.cpp), so it is
# defined by whichever of the two folders is configured first. No GoogleTest here.
if(NOT TARGET hl_op_table)
  set(_hl_op_table_dir ${PROJECT_SOURCE_DIR}/tests/ops)
  add_library(hl_op_table STATIC
    ${_hl_op_table_dir}/op_table.cpp
    ${_hl_op_table_dir}/rows_conv.cpp
    ${_hl_op_table_dir}/rows_dense.cpp
    ${_hl_op_table_dir}/rows_elementwise.cpp
    ${_hl_op_table_dir}/rows_loss.cpp
    ${_hl_op_table_dir}/rows_lstm.cpp
    ${_hl_op_table_dir}/rows_norm.cpp
    ${_hl_op_table_dir}/rows_shape.cpp)
  # Included as "ops/op_table.h", like the other suites' "support/..." headers.
  target_include_directories(hl_op_table PUBLIC ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(hl_op_table PUBLIC hl_engine)
endif()
