// Differentiable reshapes, slices and reductions. dim may be negative (from the end).
#pragma once
#include <cstdint>
#include <vector>

#include "engine/autograd/variable.h"

namespace hl::ag {

// Same elements, new shape (one dimension may be -1); shares storage with x.
Variable reshape(const Variable& x, const std::vector<int64_t>& dims);
// Joins along dim; the other dimensions must agree.
Variable concat(const std::vector<Variable>& xs, int dim);
// Indices [start, start + length) of dim (a copy).
Variable narrow(const Variable& x, int dim, int64_t start, int64_t length);
// Reductions along dim (removed from the shape), and over everything (shape []).
Variable sum(const Variable& x, int dim);
Variable mean(const Variable& x, int dim);
Variable sum_all(const Variable& x);
Variable mean_all(const Variable& x);

// The [outer, n, inner] view of a shape around dimension dim (validated, made >= 0).
struct DimSplit {
  int dim;
  int64_t outer, n, inner;
};
DimSplit split_at(const Shape& shape, int dim, const char* op);

}  // namespace hl::ag
