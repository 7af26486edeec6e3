# Third-party libraries, all from Debian packages (tools/setup.sh installs them).
find_package(Threads REQUIRED)
find_package(nlohmann_json 3 REQUIRED)

# OpenBLAS through its CBLAS interface.
find_path(HL_CBLAS_INCLUDE_DIR cblas.h PATH_SUFFIXES openblas x86_64-linux-gnu)
find_library(HL_OPENBLAS_LIBRARY NAMES openblas)
if(NOT HL_CBLAS_INCLUDE_DIR OR NOT HL_OPENBLAS_LIBRARY)
  message(FATAL_ERROR "OpenBLAS not found (Debian: libopenblas-dev; run tools/setup.sh)")
endif()
add_library(hl_openblas INTERFACE IMPORTED)
target_include_directories(hl_openblas INTERFACE ${HL_CBLAS_INCLUDE_DIR})
target_link_libraries(hl_openblas INTERFACE ${HL_OPENBLAS_LIBRARY})

# FFmpeg's libraries for media decoding (engine/media), through pkg-config.
if(HL_FFMPEG)
  find_package(PkgConfig QUIET)
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(HLFFMPEG QUIET IMPORTED_TARGET libavformat libavcodec libswscale libswresample libavutil)
  endif()
  if(NOT TARGET PkgConfig::HLFFMPEG)
    message(FATAL_ERROR "FFmpeg's libraries not found (Debian: pkg-config libavformat-dev libavcodec-dev "
      "libswscale-dev libswresample-dev libavutil-dev; run tools/setup.sh), or configure with -DHL_FFMPEG=OFF "
      "to build without media decoding")
  endif()
endif()

if(HL_BUILD_TOOLS)
  find_package(CLI11 CONFIG QUIET)
  if(NOT CLI11_FOUND)
    find_path(HL_CLI11_INCLUDE_DIR CLI/CLI.hpp REQUIRED)
    add_library(CLI11::CLI11 INTERFACE IMPORTED)
    target_include_directories(CLI11::CLI11 INTERFACE ${HL_CLI11_INCLUDE_DIR})
  endif()
endif()

if(HL_BUILD_TESTS)
  if(HL_GTEST_SOURCE)
    set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
    add_subdirectory(${HL_GTEST_SOURCE} ${CMAKE_BINARY_DIR}/googletest EXCLUDE_FROM_ALL)
    # GoogleTest >= 1.11 defines these aliases itself.
    if(NOT TARGET GTest::gtest)
      add_library(GTest::gtest ALIAS gtest)
      add_library(GTest::gtest_main ALIAS gtest_main)
    endif()
  else()
    find_package(GTest REQUIRED)
  endif()
  include(GoogleTest)
endif()

if(HL_BUILD_BENCH)
  find_package(benchmark QUIET)
endif()
