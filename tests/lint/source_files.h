// The source files the lints read (tests/lint/test_*.cpp): every C++ and CUDA source
// under some top-level folders of a tree, with its text.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace hl::lint {

struct SourceFile {
  std::string path;  // relative to the tree's root, '/'-separated: "engine/ops.cpp"
  std::string text;
};

// Every .cpp, .h, .hpp, .cu and .cuh file under root/<folder> for each of `folders` that
// exists (a missing folder is skipped), read whole.
std::vector<SourceFile> read_sources(const std::filesystem::path& root, const std::vector<std::string>& folders);

}  // namespace hl::lint
