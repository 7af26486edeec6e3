// Feature extraction (DESIGN section 4, docs/extract.md): one input video (or audio
// file) -> one safetensors feature file holding a tensor per feature at the video's
// native rate, plus the metadata that lets a later run tell whether the file is complete
// and still matches its source. hl-extract (tools/hl_extract.cpp) drives this per input
// and adds the command line, the progress bar, sharding and the summary.
//
// Computable now: mfcc (nets/mfcc.h on the 16-kHz mono signal of engine/media), and
// googlenet and places365 (pipeline/visual_features.h, from weights made by hl-convert) on
// the video's frames at the feature rate or on a still image (PNG, JPEG: one frame), and
// cam (pipeline/cam_features.h: its clips are 125 frames at 29.97 fps whatever --fps is,
// picked from the same decoding pass as the visual features' frames or the count of T,
// so a video is decoded once whatever the features and --fps).
// Asking for the others is an hl::Error that says what is missing.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/device.h"
#include "engine/fnv1a.h"
#include "engine/sha256.h"
#include "kernels/common/mfcc_params.h"
#include "nets/features.h"
#include "nets/mfcc.h"
#include "nets/segments.h"
#include "pipeline/cam_features.h"
#include "pipeline/feature_file.h"
#include "pipeline/shard.h"
#include "pipeline/visual_features.h"

namespace hl {

// ---------------------------------------------------------------------------------------
// Source fingerprints: size and SHA-256 (engine/sha256.h) of the input file's bytes.


struct SourceFingerprint {
  uint64_t size = 0;
  std::string sha256;  // lower-case hex
};
// Reads the whole file (1 MiB at a time). Throws hl::FormatError naming it when it
// cannot be opened or read.
SourceFingerprint fingerprint_file(const std::string& path);

// ---------------------------------------------------------------------------------------
// Naming and sharding

// The video id of an input: its file name without the last extension
// ("/data/talk.v2.mp4" -> "talk.v2"). Feature files are <out>/<id>.safetensors, so two
// inputs with the same id would overwrite each other: find_duplicate_ids reports them.
std::string video_id(const std::string& input_path);
// Human-readable descriptions ("id 'talk': a/talk.mp4 and b/talk.mkv") of every id that
// more than one input maps to; empty when the ids are unique.
std::vector<std::string> find_duplicate_ids(const std::vector<std::string>& inputs);

// --shard I/N: Shard, parse_shard and in_shard (pipeline/shard.h, included above).

// ---------------------------------------------------------------------------------------
// Features and their extractors

// Throws hl::Error for a feature hl-extract cannot compute yet, naming it and saying
// what adds it. (Whether the weights of a visual feature exist is checked when its
// network is loaded.)
void check_extractable(Feature f);
// The feature frame rates hl-extract accepts: from one frame per 5-s segment (1/5 fps;
// below it a segment would hold no frame) to 1000 fps. The rationals of parse_frame_rate
// are compared exactly. Throws hl::Error naming the rate and the range otherwise.
inline constexpr FrameRate kMinFeatureRate{1, 5};
inline constexpr FrameRate kMaxFeatureRate{1000, 1};
void check_feature_rate(FrameRate fps);
// mfcc_params_for(fps) (the MFCC step for a frame rate) is in nets/mfcc.h.
// What goes into "<feature>.extractor": names the algorithm and every parameter, so a
// stored tensor made differently is recomputed. Stable across hl versions. `precision`
// is VisualFeatureExtractor::precision(f) for the visual features (visual_feature_precision:
// "f32 cpu", "f16 cuda" for the CNN features, "f32 cuda" for faces and affect, which give
// slightly different numbers) and CamFeatureExtractor::precision() for cam; ignored for
// mfcc. `faces_step` is VisualFeatureExtractor::faces_step() (--faces-step), used only
// for faces and affect.
std::string extractor_name(Feature f, FrameRate fps, const std::string& precision = "f32 cpu",
                           int64_t faces_step = 1);

// ---------------------------------------------------------------------------------------
// An existing feature file: what in it can be kept

struct ExistingFile {
  bool exists = false;
  bool matches = false;  // readable, same source size and hash, same fps, sane frames
  std::string reason;  // why it does not match (damaged, other source, other fps...)
  int64_t frames = -1;
  // Features whose tensor has the right shape for `frames` and whose extractor is the
  // current one for the file's fps (only when matches).
  std::vector<Feature> valid;
};
// What a stored feature must match to be kept: its extractor name and the SHA-256 of
// the weights it was computed with ("none" for mfcc).
struct ExtractorIdentity {
  std::string extractor;
  std::string weights;
};
// `current` holds the identity of each feature this run can compute; a stored feature
// not in it is kept as it is when it names an extractor.
ExistingFile inspect_feature_file(const std::string& path, const SourceFingerprint& source, FrameRate fps,
                                  const std::map<Feature, ExtractorIdentity>& current);
// The same with mfcc as the one computable feature.
ExistingFile inspect_feature_file(const std::string& path, const SourceFingerprint& source, FrameRate fps);

// True when the file's first bytes are a PNG or JPEG signature: a still image, decoded
// by engine/image (the pixels PIL gives) as one frame.
bool is_still_image(const std::string& path);

// ---------------------------------------------------------------------------------------
// One input

struct ExtractOptions {
  std::vector<Feature> features;  // requested; each must pass check_extractable
  FrameRate fps{30000, 1001};
  bool force = false;  // recompute the requested features even when the file has them
  std::string hl_version;  // written to the metadata ("hl_version")
  // The loaded networks for visual features (shared across inputs; load once per run).
  // When null and a visual feature is requested, extract_video loads them itself with
  // `visual_options`.
  VisualFeatureExtractor* visual = nullptr;
  VisualFeatureOptions visual_options;
  // The CAM network (pipeline/cam_features.h), shared across inputs like `visual`; when
  // null and cam is requested, extract_video loads it itself with `cam_options`.
  CamFeatureExtractor* cam = nullptr;
  CamFeatureOptions cam_options;
  // Where the MFCC runs (the cuFFT version on a CUDA device), apart from the networks'.
  Device mfcc_device = Device::cpu();
  // Called with the number of frames done while visual features are computed.
  std::function<void(int64_t)> on_frames;
  // Called with (cam clips done, -1) after each cam clip (125 frames; the total is known
  // only once the video is decoded), as CamFeatureExtractor::run's progress.
  std::function<void(int64_t, int64_t)> on_cam_clips;
};

struct ExtractResult {
  enum class Status { Written, UpToDate } status = Status::Written;
  std::string output;  // the feature file
  int64_t frames = 0;  // T
  std::vector<Feature> computed;  // features computed by this call (empty when UpToDate)
  std::vector<Feature> kept;  // features carried over from the existing file
  std::string note;  // e.g. "existing file was damaged (...); recomputed"
};

// Extracts `options.features` of `input` into feature_file_path(out_dir, video_id(input))
// (out_dir must exist), in four steps: plan (what the file holds, what is to be computed,
// one probe of the input), visual (the networks over the decoded frames), audio (T when
// still unknown, and the MFCC), assemble (the file, atomically). It skips the input when that file is complete and matches (same
// source size and SHA-256, same fps, every requested feature present with the current
// extractor), else computes only what is missing and rewrites the file atomically with
// every valid feature. Throws hl::Error (hl::FormatError naming the input for problems
// with the input) without touching an existing file.
ExtractResult extract_video(const std::string& input, const std::string& out_dir, const ExtractOptions& options);

// The number of video frames T of a media file at `fps` (engine/media's tick rule: the
// count VideoReader emits, which needs a decode of the video stream); for a file without
// video, ceil(audio samples at 16 kHz · fps / 16000) of its first audio stream.
int64_t count_frames(const std::string& input, FrameRate fps);

}  // namespace hl
