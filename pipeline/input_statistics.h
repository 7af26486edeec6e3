// The input normalisation of a model (nets/input_normalisation.h) computed from a
// dataset: per feature and channel, the mean and population standard deviation over the
// rows the model sees (SegmentDataset::batch: 150 held rows at 30 fps, 600 MFCC rows).
// Accumulated in double, a segment at a time (Chan et al.'s pairwise merge).
// Tests: tests/pipeline/test_trainer_inputs.cpp (sums written out in the test),
// tests/model/test_input_normalisation_golden.cpp (numpy).
#pragma once
#include <cstddef>
#include <span>

#include "nets/input_normalisation.h"
#include "pipeline/segment_dataset.h"

namespace hl {

// The statistics of every feature of `data` over the segments `segments` (indices into
// data; at least one). The caller passes a fold's training segments only.
InputNormalisation compute_input_normalisation(const SegmentDataset& data, std::span<const size_t> segments);

}  // namespace hl
