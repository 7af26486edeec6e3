// The MFCC front end of the highlight pipeline (specs/nets.md): 13 cepstra per row, 4
// rows per video frame at 29.97 fps, from 16-kHz mono audio.
//
// The step: python_speech_features rounds the paper's 0.25/29.97-s step (133.47
// samples) to 133, so its rows drift against the video by 0.35% (2.1 s after 10
// minutes). hl carries the step exactly as the rational 2002/15 samples, row i starting
// at round_half_up(i · 2002/15): row 4f starts within half a sample of video frame f's
// timestamp however long the file (MfccParams::paper()). MfccParams::python_speech_features()
// reproduces the library bit for bit in layout (tests compare against it).
#pragma once
#include <cstdint>

#include "engine/tensor.h"
#include "kernels/common/mfcc_params.h"
#include "nets/segments.h"

namespace hl {

// Number of rows python_speech_features' framesig makes for n samples (1 if n <= window,
// else enough rows for the last one to reach the end), with the step of `p`.
int64_t mfcc_rows_for_samples(int64_t n, const MfccParams& p);

// Rows for `frames` video frames: 4 per frame.
constexpr int64_t kMfccRowsPerFrame = 4;
inline int64_t mfcc_rows_for_frames(int64_t frames) { return frames * kMfccRowsPerFrame; }

// MFCC parameters for video at `fps`: the paper's front end with a step of exactly
// 1/(4 fps) s (2002/15 samples at 30000/1001), so row 4f starts at video frame f. Throws
// hl::Error for a rate outside (0, 1000] fps or with terms above 1e9.
MfccParams mfcc_params_for(FrameRate fps);

// MFCCs of `samples` (f32 [n], CPU, in the amplitude scale of 16-bit PCM: ±32768 at full
// scale, as the library is used on wav files) for rows [0, rows): f32 [rows, 13] on the CPU.
// Rows past the end of the audio see zeros (silence), as the library pads.
Tensor mfcc(const Tensor& samples, int64_t rows, const MfccParams& p = MfccParams::paper());

// The same rows computed on `device`: the CPU kernel, or on a CUDA device the cuFFT
// version (kernels/cuda/mfcc.h; tested against the CPU's at 1e-5 relative, not yet run
// on a GPU: docs/gpu-status.md). `samples` may be on the CPU or on that device; the
// result is f32 [rows, 13] on `device`. Throws hl::Error for a CUDA device in a build
// without CUDA or on a machine without one.
Tensor mfcc(const Tensor& samples, int64_t rows, const MfccParams& p, Device device);

}  // namespace hl
