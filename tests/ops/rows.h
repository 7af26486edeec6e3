// The op table's rows by family (tests/ops/rows_*.cpp), and the small helpers they share.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ops/op_table.h"

namespace hl::optable {

void add_dense_rows(std::vector<OpRow>& rows);        // linear, matmul
void add_conv_rows(std::vector<OpRow>& rows);         // conv1d_same, conv2d, maxpool1d_2
void add_elementwise_rows(std::vector<OpRow>& rows);  // activations, add, mul, scale, dropout
void add_norm_rows(std::vector<OpRow>& rows);         // softmax, layer_norm, layer_norm_vasnet
void add_shape_rows(std::vector<OpRow>& rows);        // reshape, concat, narrow, sum, mean
void add_loss_rows(std::vector<OpRow>& rows);         // mse, ccc, margin ranking
void add_lstm_rows(std::vector<OpRow>& rows);         // lstm, bilstm

// "2x3x4" for a shape, for row names.
std::string dims_name(const std::vector<int64_t>& dims);
int64_t numel(const std::vector<int64_t>& dims);

// A shape seen around dimension `dim` (negative: from the end) as [outer, n, inner], the
// layout of the ops that work along one dimension (softmax, concat, narrow, sum, mean).
struct Split {
  int64_t outer = 1, n = 1, inner = 1;
};
Split split(const std::vector<int64_t>& dims, int dim);

// An input without a gradient (labels, masks).
inline Input constant(std::vector<int64_t> shape, Fill fill = Fill::normal()) { return {std::move(shape), false, fill}; }

// The keep/drop mask that kernels/cpu/dropout.h defines, written out from the Philox
// stream (kernels/common/philox.h, the generator's definition, tested against the
// Random123 known answers): element i keeps (value 1 / (1 - p)) when the uniform number
// of word (offset + i) is above p. For the references of the rows with dropout.
Vec reference_dropout_mask(uint64_t seed, uint64_t offset, float p, int64_t n);

}  // namespace hl::optable
