// A decoded clip on disk: what a decoder made of a video file, so that tests can feed
// the feature extractors real decoded frames and audio on a machine without FFmpeg (the
// GPU machine). tools/make-decoded-clip.sh makes one with the ffmpeg command line.
//
// Format (a folder, all three files required):
//   clip.json   {"format": "hl-decoded-clip", "version": 1,
//                "width": W, "height": H, "frames": T,
//                "fps_num": N, "fps_den": D,          (frame rate N/D, e.g. 30000/1001)
//                "sample_rate": 16000, "samples": S}
//   frames.rgb  u8 [T, H, W, 3]: T packed RGB24 frames, row-major, no padding
//               (ffmpeg -f rawvideo -pix_fmt rgb24); exactly T*H*W*3 bytes.
//   audio.f32   f32 little-endian [S]: mono samples at sample_rate Hz, full scale ±1
//               (ffmpeg -f f32le -ac 1 -ar 16000); exactly 4*S bytes. 16 kHz is the MFCC's
//               rate (nets/mfcc.h); the pipeline multiplies by 32768 before the MFCC
//               (engine/media mfcc_signal), and so do the tests.
// Reading checks every field and both file sizes; any problem is an hl::FormatError naming
// the file and what is wrong (a truncated frames.rgb says how many bytes it has and needs).
// Tests: tests/cuda/test_decoded_clip.cpp (cpu), used by tests/cuda/test_cuda_extract.cpp.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hl::test {

struct DecodedClip {
  int64_t width = 0, height = 0, frames = 0;
  int64_t fps_num = 30000, fps_den = 1001;
  int64_t sample_rate = 16000;
  std::vector<uint8_t> rgb;   // [frames, height, width, 3]
  std::vector<float> audio;   // [samples], mono, ±1 full scale
};

// Reads the folder `dir` (format above). Throws hl::FormatError naming the file.
DecodedClip read_decoded_clip(const std::string& dir);

// Writes `clip` into the existing folder `dir` in the same format (for tests).
void write_decoded_clip(const std::string& dir, const DecodedClip& clip);

// A deterministic clip made in memory: a moving colour pattern (gradients, a square that
// moves across and a stripe that scrolls) and a harmonic tone under a syllable envelope,
// `seconds` long at 30000/1001 fps and 16 kHz.
DecodedClip generated_clip(int64_t width, int64_t height, double seconds);

}  // namespace hl::test
