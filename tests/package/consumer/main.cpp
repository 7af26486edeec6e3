// Uses the installed headers and libraries the way an embedding product would: an op on
// tensors, a safetensors round trip, the segment timing of hl::nets, the feature-file
// format of hl::pipeline.
#include <cstdio>

#include "engine/ops.h"
#include "engine/safetensors.h"
#include "nets/segments.h"
#include "pipeline/feature_file.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  try {
    const hl::Tensor a = hl::Tensor::from_vector(hl::Shape({2, 2}), {1, 2, 3, 4});
    const hl::Tensor sum = hl::ops::add(a, a);  // [2, 4, 6, 8]
    hl::write_safetensors(argv[1], {{"sum", sum}}, {{"who", "consumer"}});
    const auto file = hl::SafetensorsFile::open(argv[1]);
    const hl::Tensor loaded = file.get("sum");  // const: a view of the read-only mapping
    const float* back = loaded.data<float>();
    if (back[3] != 8.0f || file.metadata().at("who") != "consumer") {
      std::printf("consumer: wrong values\n");
      return 1;
    }
    // One minute at 29.97 fps (1798 frames) holds 11 complete 5-s segments.
    if (hl::complete_segments(1798, hl::FrameRate{30000, 1001}) != 11) {
      std::printf("consumer: wrong segment count\n");
      return 1;
    }
    // 29.97 fps is exactly 2997/100; a video's features live in <dir>/<id>.safetensors.
    if (hl::frame_rate_string(hl::parse_frame_rate("29.97")) != "2997/100" ||
        hl::feature_file_path("features", "v1") != "features/v1.safetensors") {
      std::printf("consumer: wrong feature-file format\n");
      return 1;
    }
    std::printf("consumer: ok (%s)\n", file.get("sum").str().c_str());
    return 0;
  } catch (const std::exception& e) {
    std::printf("consumer: %s\n", e.what());
    return 1;
  }
}
