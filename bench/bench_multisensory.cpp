// CPU inference of the Multisensory CAM network (nets/multisensory.h) on one full-size
// clip: 125 frames of 224 x 224 and 87,588 stereo samples (4.2 s at 21 kHz), the
// published width (divisor 1). Seconds per clip = the benchmark's real time.
// Weights: the full-size TensorFlow checkpoint of tests/nets/make_multisensory_fixtures.py
// (HL_MS_WIDTH_DIVISOR=1 HL_MS_OUT=DIR), named by HL_MULTISENSORY_FULL=DIR as for
// tests/nets/test_multisensory_net.cpp, converted here before timing (random values
// change nothing in the work). Skipped without it. Threads: $HL_NUM_THREADS
// (kernels/cpu/parallel.h).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

#include "engine/safetensors.h"
#include "nets/multisensory.h"
#include "weights/multisensory_map.h"
#include "weights/tf_checkpoint.h"

namespace {

void BM_MultisensoryCpuFullClip(benchmark::State& state) {
  const char* dir = std::getenv("HL_MULTISENSORY_FULL");
  if (!dir) {
    state.SkipWithError("set HL_MULTISENSORY_FULL to a folder with cam_w1.* (make_multisensory_fixtures.py)");
    return;
  }
  const std::string weights =
      (std::filesystem::temp_directory_path() / ("hl_bench_ms_" + std::to_string(::getpid()) + ".safetensors"))
          .string();
  const hl::ConvertResult c =
      hl::convert_multisensory(hl::TfCheckpoint::open(std::string(dir) + "/cam_w1"), hl::MultisensoryNet::Cam);
  hl::write_safetensors(weights, c.tensors, c.metadata);
  const hl::MultisensoryCpu net = hl::MultisensoryCpu::load(weights);
  std::filesystem::remove(weights);
  constexpr int64_t kFrames = 125, kSize = 224, kSamples = 87588;
  std::vector<float> images(static_cast<size_t>(kFrames * kSize * kSize * 3)), samples(kSamples * 2);
  for (size_t i = 0; i < images.size(); ++i) images[i] = static_cast<float>(i % 255) / 127.5f - 1.0f;
  for (size_t i = 0; i < samples.size(); ++i) samples[i] = static_cast<float>(i % 2001) / 1000.0f - 1.0f;
  // One untimed clip first: run() keeps its activation buffers between clips (as over a
  // video), and the first full-size clip allocates them (~350 MB of fresh pages).
  benchmark::DoNotOptimize(net.run(images.data(), kFrames, kSize, kSize, samples.data(), kSamples).logit);
  for (auto _ : state) {
    const hl::MultisensoryResult r = net.run(images.data(), kFrames, kSize, kSize, samples.data(), kSamples);
    benchmark::DoNotOptimize(r.logit);
  }
}
BENCHMARK(BM_MultisensoryCpuFullClip)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();

}  // namespace
