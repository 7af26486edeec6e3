#include "engine/shape.h"

#include "engine/error.h"

namespace hl {

// Straight into the inline array: a shape made per layer call (conv_output_shape, the
// nets' buffer shapes) allocates nothing.
Shape::Shape(std::initializer_list<int64_t> dims) {
  if (dims.size() > static_cast<size_t>(kMaxDims))
    throw Error("shape " + std::to_string(dims.size()) + "-dimensional: at most 5 dimensions are supported");
  ndim_ = static_cast<int>(dims.size());
  int i = 0;
  for (int64_t d : dims) dims_[i++] = d;
  validate();
}

Shape::Shape(const std::vector<int64_t>& dims) {
  if (dims.size() > static_cast<size_t>(kMaxDims))
    throw Error("shape " + std::to_string(dims.size()) + "-dimensional: at most 5 dimensions are supported");
  ndim_ = static_cast<int>(dims.size());
  for (int i = 0; i < ndim_; ++i) dims_[i] = dims[i];
  validate();
}

void Shape::validate() const {
  // Every dimension non-negative and the element count below 2^62, so that
  // numel() * element size never overflows an int64.
  int64_t n = 1;
  for (int i = 0; i < ndim_; ++i) {
    if (dims_[i] < 0) throw Error("shape " + str() + " has a negative dimension");
    if (dims_[i] != 0 && n > (int64_t{1} << 62) / dims_[i])
      throw Error("shape " + str() + " has too many elements");
    n *= dims_[i];
  }
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < ndim_; ++i) n *= dims_[i];
  return n;
}

bool Shape::operator==(const Shape& o) const {
  if (ndim_ != o.ndim_) return false;
  for (int i = 0; i < ndim_; ++i)
    if (dims_[i] != o.dims_[i]) return false;
  return true;
}

std::string Shape::str() const {
  std::string s = "[";
  for (int i = 0; i < ndim_; ++i) {
    if (i) s += ", ";
    s += std::to_string(dims_[i]);
  }
  return s + "]";
}

}  // namespace hl
