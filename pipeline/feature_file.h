// The feature file of one video, the format's one home (DESIGN section 4;
// docs/formats.md, "Feature files"): <dir>/<id>.safetensors with one tensor per feature
// at its native rate (googlenet [T, 1024], places365 [T, 2048], affect [T, 128],
// cam [T, 14, 14], faces [T], mfcc [4T, 13]; nets/features.h) in the paper's feature
// order, and string metadata: the frame rate, T, the list of features, and whatever the
// writer adds (for hl-extract: duration, audio rate, the source file's size and SHA-256,
// each feature's extractor and weights hash; for hl-synth: the seed and the planted
// signal strengths). hl-extract and hl-synth write it with write_feature_file;
// SegmentDataset and extraction's resume check read it with the functions below.
// Tests: tests/pipeline/test_feature_file.cpp, tests/pipeline/test_segment_dataset.cpp,
// tests/tools/test_hl_extract.cpp.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/safetensors.h"
#include "engine/tensor.h"
#include "nets/features.h"
#include "nets/segments.h"

namespace hl {

// The metadata keys.
namespace feature_meta {
inline constexpr const char kFps[] = "fps";                    // the frame rate, reduced "num/den"
inline constexpr const char kFrames[] = "frames";              // T
inline constexpr const char kFeatures[] = "features";          // "googlenet,mfcc": the tensors, in order
inline constexpr const char kDuration[] = "duration";          // seconds, "%.6f"
inline constexpr const char kAudioRate[] = "audio_rate";       // Hz of the MFCC's audio
inline constexpr const char kSource[] = "source";              // the input's path as given
inline constexpr const char kSourceSize[] = "source_size";     // bytes
inline constexpr const char kSourceSha256[] = "source_sha256";  // hex
inline constexpr const char kHlVersion[] = "hl_version";
std::string extractor_key(Feature f);  // "<feature>.extractor": what computed it
std::string weights_key(Feature f);    // "<feature>.weights": SHA-256 of its weights, or "none"
}  // namespace feature_meta

// <dir>/<id>.safetensors.
std::string feature_file_path(const std::string& dir, const std::string& id);

// "30000/1001" (reduced).
std::string frame_rate_string(FrameRate fps);
// "30000/1001", "25" or "29.97" (decimal: converted to an exact rational); throws
// hl::Error on anything else or a non-positive rate.
FrameRate parse_frame_rate(const std::string& text);

// The metadata every feature file has (fps, frames, features) merged with `extra`
// (whose keys must not be those three).
std::map<std::string, std::string> feature_file_metadata(const std::vector<Feature>& features, FrameRate fps,
                                                         int64_t frames, std::map<std::string, std::string> extra);

// Writes the tensors (in the paper's feature order) and `metadata` (from
// feature_file_metadata) to `path` atomically; hl::Error naming the file on failure, an
// existing file untouched.
void write_feature_file(const std::string& path, const std::map<Feature, Tensor>& tensors,
                        const std::map<std::string, std::string>& metadata);

// The frame rate of an open feature file, reduced: hl::FormatError naming `path` when
// "fps" is missing, not a frame rate, or (reduced) has a term above kMaxFrameRateTerm.
inline constexpr int64_t kMaxFrameRateTerm = 2147483647;  // 2^31 − 1, as ffmpeg's AVRational
FrameRate feature_file_fps(const SafetensorsFile& file, const std::string& path);
// T from the metadata, or -1 when "frames" is missing or not a positive integer.
int64_t feature_file_frames(const SafetensorsFile& file);

// The shape a feature's tensor has for T frames: [T * rows_per_frame, frame_shape...].
std::vector<int64_t> feature_tensor_shape(Feature f, int64_t frames);

}  // namespace hl
