// Rows of a feature tensor as it is stored in a feature file (f32, f16, bf16, or an
// integer type; usually a view of the memory-mapped file), converted to f32 one row at
// a time as SegmentDataset assembles a batch, and checked to be finite on the way. The
// dataset keeps the stored tensors and converts per batch, so its memory is bounded by
// the batch, not the dataset (docs/training.md, "Data"); and every value that reaches
// a model has been checked, at the cost of one pass over the f32 row that is being
// written anyway.
// Tests: tests/pipeline/test_segment_dataset.cpp (f16/bf16 against f32 files, every f16
// bit pattern against kernels/cpu/cast.h, non-finite values named by file, feature, frame).
#pragma once
#include <cstdint>
#include <string>

#include "engine/tensor.h"

namespace hl {

// Elements per row of `stored` ([rows, ...]): the product of its dimensions after the first.
int64_t row_elements(const Tensor& stored);

// dst[0, row_elements) = row `row` of `stored` converted to f32 (exact: every f16, bf16
// and f32 value, and integers up to 2^24). `stored` is a CPU tensor of any hl dtype.
// Returns the index of the row's first non-finite value (NaN, ±inf), or -1: checked as
// the row is converted (for f16, in the same vector loop).
int64_t row_to_f32(const Tensor& stored, int64_t row, float* dst);

// The index of the first non-finite (NaN or ±inf) value of x[0, n), or -1 when all are
// finite. A bit test, so it holds under any floating-point compiler flags.
int64_t first_non_finite(const float* x, int64_t n);

// Where `stored` first holds a non-finite value: the first such row (-1: none), its
// element, that value, and how many rows hold one. Reads the whole tensor: for error
// messages only.
struct NonFiniteRows {
  int64_t first_row = -1;
  int64_t element = 0;
  float value = 0.0f;
  int64_t rows = 0;
};
NonFiniteRows find_non_finite_rows(const Tensor& stored);

// Tells the kernel that the process is done with the part of `mapping`, a read-only file
// mapping (the storage of SafetensorsFile::open()'s get() views), that holds the bytes
// [begin, end) (a segment's rows), so that those pages stop counting in its resident
// memory; they stay in the page cache and come back on the next touch. The range is
// widened to whole 2-MiB windows on both sides, because a fault maps neighbouring cached
// pages too (fault-around, or a whole large folio), which an exact release would leave
// behind. SegmentDataset::batch calls it after each segment (releasing the whole mapping
// per segment made the kernel walk every video's page tables 1,800 times a batch, 0.6 s
// of system time per epoch at 80 videos). Only for read-only file mappings: on ordinary
// memory dropping pages would lose data, so the function does nothing for writable
// storage, but it cannot tell a mapping from read-only heap memory
// (SafetensorsFile::from_bytes): never pass those.
void release_mapped_range(const Storage& mapping, const void* begin, const void* end);

}  // namespace hl
