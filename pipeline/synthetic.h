// A deterministic synthetic dataset for the highlight pipeline: feature files in the
// layout of DESIGN section 4 and a label CSV, whose segments carry a planted signal of a
// chosen strength per feature. It stands in for real extraction in the main job and in
// tests: training must beat chance on held-out videos, and a single-feature study must
// rank the features by their planted strength.
//
// The model of the data, per video: labels y_s in [0, 2] follow a clipped random walk
// over the 5-s segments. For feature f with per-row size D, K = min(8, D) planted
// dimensions carry a · (y_s − 1) with a = strength_f / sqrt(K) plus segment-level noise
// N(0, 1) (shared by the rows of a segment, so averaging over frames cannot remove it);
// every dimension carries row-level noise N(0, 0.5²). A linear read-out of the planted
// dimensions therefore sees a segment-level signal-to-noise ratio of about strength_f,
// the same scale for every feature whatever its size; the other dimensions are
// distractors with only row-level noise, so that a small model can find the planted ones
// among 1024 or 2048 (with segment-level noise everywhere, learning from a few hundred
// segments would depend on D more than on the strength).
// Everything is a function of (seed, video index): any video can be regenerated alone.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/dtype.h"
#include "engine/tensor.h"
#include "nets/features.h"
#include "nets/segments.h"

namespace hl {

struct SyntheticSpec {
  int videos = 40;
  double min_seconds = 30;  // video lengths are uniform in [min, max]
  double max_seconds = 60;
  uint64_t seed = 1;
  FrameRate fps{30000, 1001};
  std::vector<Feature> features = all_features();
  // Segment-level signal-to-noise per feature. Defaults follow the paper's Table 1 order.
  std::map<Feature, float> strength = {{Feature::GoogLeNet, 1.2f}, {Feature::Places365, 1.0f},
                                       {Feature::Affect, 0.8f},    {Feature::Mfcc, 0.6f},
                                       {Feature::Cam, 0.4f},       {Feature::Faces, 0.2f}};
  DType dtype = DType::F16;  // of the stored features (f16 halves the files)
};

struct SyntheticVideo {
  std::string id;              // "synth_0007"
  int64_t frames = 0;          // at spec.fps
  std::vector<double> labels;  // one per complete 5-s segment
};

SyntheticVideo synthetic_video(const SyntheticSpec& spec, int index);
// The feature tensors of one video: feature -> [T, ...] ([4T, 13] for mfcc) in spec.dtype.
std::map<Feature, Tensor> synthetic_features(const SyntheticSpec& spec, int index);

// Writes <out>/features/<id>.safetensors for every video and <out>/labels.csv
// (video,segment,score). Files are written atomically; an existing complete file for a
// video is overwritten only when its metadata differs from what would be written.
void write_synthetic_dataset(const SyntheticSpec& spec, const std::string& out_dir);

}  // namespace hl
