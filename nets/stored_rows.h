// The rows of a dense encoder's input as the feature files store them (f16), converted
// to f32 and standardised a block at a time when the encoder needs them, so that a
// training batch is never held in f32 (issue 18: at the paper's batch of 300 the f32
// googlenet, places365 and affect inputs were 576 MB, kept by the tape for the weight
// gradient until the end of the backward pass; as stored they are half that).
//
// The values are the ones SegmentDataset::batch writes for the same rows in f32: f16 ->
// f32 is exact (kernels/cpu/cast_f16c.h: F16C where the CPU has it), then
// InputNormalisation::normalise_rows, the same arithmetic in the same order.
// Tests: tests/model/test_dense_input_memory.cpp (bit for bit against the dataset's f32
// batch; the memory the training forward pass keeps).
#pragma once
#include <cstdint>

#include "engine/autograd/linear.h"
#include "engine/tensor.h"
#include "nets/features.h"
#include "nets/input_normalisation.h"

namespace hl {

// A RowSource (engine/autograd/linear.h) over `stored`, f16 CPU [..., width] viewed as
// [rows, width]: rows converted to f32 and, when `normalisation` is enabled, standardised
// as feature f. Keeps `stored` and a copy of the statistics (the tape holds the source
// until the backward pass). Throws hl::Error unless `stored` is f16 on the CPU.
ag::RowSource stored_rows(Feature f, const Tensor& stored, const InputNormalisation& normalisation);

}  // namespace hl
