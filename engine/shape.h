// A tensor shape of at most five dimensions, stored inline (no allocation).
#pragma once
#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace hl {

class Shape {
 public:
  static constexpr int kMaxDims = 5;

  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  explicit Shape(const std::vector<int64_t>& dims);

  int ndim() const { return ndim_; }
  int64_t operator[](int i) const { return dims_[i]; }
  int64_t& operator[](int i) { return dims_[i]; }
  // Product of all dimensions (1 for a scalar). Shapes are validated on construction,
  // so this cannot overflow.
  int64_t numel() const;
  std::vector<int64_t> vec() const { return {dims_.begin(), dims_.begin() + ndim_}; }
  bool operator==(const Shape& o) const;
  std::string str() const;  // "[2, 3, 4]"

 private:
  void validate() const;
  std::array<int64_t, kMaxDims> dims_{};
  int ndim_ = 0;
};

}  // namespace hl
