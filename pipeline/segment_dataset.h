// The segments the highlight model trains and predicts on (DESIGN section 4): for every
// labelled 5-s segment of every video, each used feature as 150 rows at 30 fps (the
// latest native frame at or before each 1/30-s tick) and MFCC as 600 rows at 120 Hz (the
// latest MFCC row at or before each 1/120-s sub-tick: 4 rows per tick).
//
// Feature files are <dir>/<video>.safetensors, memory-mapped and kept as stored (f16 as
// hl-extract writes them); only the tensors of the used features are read, only the
// pages a batch touches, and those are converted to f32 row by row as the batch is
// assembled and handed back to the page cache (madvise) after each segment, so the
// resident memory is bounded by the batch, not by the dataset (docs/training.md,
// "Data"; bench/dataset-memory.sh measures it).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/segment_scores.h"
#include "engine/tensor.h"
#include "nets/features.h"
#include "nets/input_normalisation.h"
#include "nets/segments.h"

namespace hl {

class SafetensorsFile;

struct SegmentRef {
  int32_t video = 0;     // index into SegmentDataset::videos()
  int64_t segment = 0;   // 5-s segment index within the video
  float label = 0.0f;
};

struct SegmentBatch {
  // Per used feature: f32 [B, 150, frame_shape...] (faces: [B, 150, 1]; mfcc: [B, 600, 13]);
  // f16 for googlenet, places365 and affect with batch(..., dense_as_stored).
  std::map<Feature, Tensor> inputs;
  Tensor labels;  // f32 [B]
};

class SegmentDataset {
 public:
  // Opens the feature file of every video in `labels` and checks, for each feature in
  // `use`: the tensor exists, its shape is [T, frame_shape...] ([4T, 13] for mfcc), and
  // the labelled segments lie within the T frames at the file's frame rate (metadata
  // "fps", e.g. "30000/1001"). Throws hl::Error naming the video, the file or the
  // labels file and what is wrong.
  static SegmentDataset open(const std::string& features_dir, const SegmentScores& labels,
                             const std::vector<Feature>& use, const std::string& labels_name = "labels");

  size_t size() const { return segments_.size(); }
  const SegmentRef& segment(size_t i) const { return segments_.at(i); }
  const std::vector<std::string>& videos() const { return videos_; }
  const std::vector<Feature>& features() const { return use_; }

  // The segments `indices` as one batch, assembled in host memory (pinned when a CUDA
  // device is the destination) and placed on `device`. Every row is checked as it is
  // converted: a NaN or infinity throws hl::FormatError naming the feature file, the
  // feature, the first frame of the file holding one and how many do (checked here,
  // lazily, rather than at open(): the rows are read and converted here anyway, so the
  // check costs one pass over data in cache, where a check at open would read the whole
  // dataset once more; the statistics of the input normalisation go through batch(), so
  // with normalisation on a bad training video stops hl-train before its first step). With statistics in
  // `normalisation` (a model's input_normalisation()), every row is standardised as it
  // is copied (it must have every feature of the dataset); without, rows are copied as
  // they are.
  //
  // dense_as_stored: googlenet, places365 and affect stay f16 as stored, not
  // standardised ([B, 150, D] f16), when the device is the CPU and every video of the
  // batch stores the feature in f16 (otherwise f32 as above); checked for non-finite
  // values in the same way. For HighlightModel::forward, which converts and standardises
  // them with its own input_normalisation() inside its dense layers, so that a training
  // step never holds them in f32 (issue 18: half the memory of a batch of 300).
  // `normalisation` must then be the model's, as it is for the other features.
  SegmentBatch batch(std::span<const size_t> indices, Device device = Device::cpu(),
                     const InputNormalisation& normalisation = InputNormalisation::none(),
                     bool dense_as_stored = false) const;

 private:
  struct VideoFeatures {
    std::shared_ptr<SafetensorsFile> file;
    std::string path;
    FrameRate fps;
    int64_t frames = 0;
    // As stored (f16, f32, ...), views of the mapped file [T or 4T, ...]; batch()
    // converts the rows it uses to f32 (pipeline/feature_rows.h).
    std::map<Feature, Tensor> tensors;
    // The file mapping the tensors view, released after every segment read from it;
    // null when none does (get() copies data that is misaligned).
    std::shared_ptr<Storage> mapping;
  };
  // batch()'s dense_as_stored path: whether every video of `indices` stores f in f16,
  // and their rows of f as stored into dst [B, 150, D].
  bool stored_f16(Feature f, std::span<const size_t> indices) const;
  void copy_stored_rows(Feature f, std::span<const size_t> indices, uint16_t* dst) const;

  std::string dir_;
  std::vector<Feature> use_;
  std::vector<std::string> videos_;
  std::vector<VideoFeatures> data_;
  std::vector<SegmentRef> segments_;
};

// The native row shown at `tick` of a clock with `ticks_per_second`, for rows at `rate`
// (rows per second, rational): the largest j with j / rate <= tick / ticks_per_second,
// clamped to [0, count − 1].
int64_t held_row_at_tick(int64_t tick, int64_t ticks_per_second, FrameRate rate, int64_t count);

}  // namespace hl
