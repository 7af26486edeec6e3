// Loading the raw f32 arrays that the golden scripts write (manifest entries
// {"file", "shape"}) into CPU tensors.
#pragma once
#include <cstring>
#include <nlohmann/json.hpp>

#include "engine/tensor.h"
#include "support/test_support.h"

namespace hl::test {

inline Tensor load_f32(const TempDir& dir, const nlohmann::json& a) {
  Tensor t = Tensor::empty(Shape(a["shape"].get<std::vector<int64_t>>()), DType::F32);
  const auto bytes = read_file(dir.file(a["file"]));
  if (bytes.size() != t.nbytes()) throw std::runtime_error("golden array " + a["file"].get<std::string>() + " has the wrong size");
  std::memcpy(t.raw(), bytes.data(), bytes.size());
  return t;
}

}  // namespace hl::test
