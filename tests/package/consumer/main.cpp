// Uses the installed headers and libraries the way an embedding product would: an op on
// tensors, a safetensors round trip, the segment timing of hl::nets.
#include <cstdio>

#include "engine/ops.h"
#include "engine/safetensors.h"
#include "nets/segments.h"

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
    std::printf("consumer: ok (%s)\n", file.get("sum").str().c_str());
    return 0;
  } catch (const std::exception& e) {
    std::printf("consumer: %s\n", e.what());
    return 1;
  }
}
