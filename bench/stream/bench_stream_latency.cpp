// The streaming detector's latency and throughput on the CPU (docs/benchmarks.md,
// "Streaming latency"): for an mfcc model and a googlenet + mfcc model (random weights:
// the work does not depend on the values), the time from pushing a segment's last frame
// to its score coming out of poll(), p50 and p99, and how many 720p frames a second
// the stream takes in (its pushes, audio included, back to back).
//
//   hl-bench-stream [--segments N] [--visual-segments N] [--visual-frames N]
//   hl-bench-stream --write-models DIR   # the two models and random GoogLeNet weights
//                                        # (DIR/weights), for bench/highlights-throughput.sh
//
// The googlenet model's latency is measured with frames pushed at 1 fps (5 frames a
// segment), which leaves the work after a segment's last frame unchanged (that frame's
// network, the segment's MFCC and the model) while keeping the run short; its
// throughput at 29.97 fps.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <unistd.h>
#include <string>
#include <vector>

#include "../../tests/cuda/random_cnn_weights.h"
#include "hl/highlights.h"
#include "nets/highlight_model.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kWidth = 1280, kHeight = 720;

void write_models(const fs::path& dir) {
  fs::create_directories(dir / "weights");
  hl::HighlightModel(hl::HighlightModelConfig::paper({hl::Feature::Mfcc}), 1).save((dir / "mfcc.safetensors").string());
  hl::HighlightModel(hl::HighlightModelConfig::paper({hl::Feature::GoogLeNet, hl::Feature::Mfcc}), 2)
      .save((dir / "googlenet-mfcc.safetensors").string());
  hl::test::write_cnn_weight_file((dir / "weights" / "googlenet.safetensors").string(), "googlenet",
                                  hl::test::random_googlenet_weights(/*folded=*/true), 1000);
}

struct Result {
  std::vector<double> latency_ms;  // per segment
  double frames_per_second = 0;
};

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, i == 0 ? 0 : i - 1)];
}

// Pushes `segments` segments of 720p frames at `rate` (and 16-kHz noise 0.2 s ahead, in
// 20-ms chunks), timing the push of each segment's last frame through its poll().
Result run(const hl::HighlightDetector& detector, hl::VideoRate rate, int64_t segments) {
  hl::HighlightStream stream = detector.stream(rate, 16000);
  std::vector<uint8_t> rgb(static_cast<size_t>(kWidth) * kHeight * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>((i * 2654435761u) >> 24);
  std::vector<float> chunk(320);
  uint32_t lcg = 1;
  int64_t audio = 0;
  Result r;
  int64_t frames = 0;
  const auto start = Clock::now();
  for (int64_t k = 0; static_cast<int64_t>(r.latency_ms.size()) < segments; ++k) {
    const int64_t pts = (k * rate.den * 1000000 + rate.num / 2) / rate.num;
    while (audio * 1000000 / 16000 < pts + 200000) {
      for (float& x : chunk) x = static_cast<float>((lcg = lcg * 1664525u + 1013904223u) >> 8) / 16777216.0f * 0.2f - 0.1f;
      stream.push_audio(chunk.data(), chunk.size(), audio * 1000000 / 16000);
      audio += static_cast<int64_t>(chunk.size());
    }
    rgb[static_cast<size_t>(k) % rgb.size()] ^= 1;  // frames differ
    const auto t0 = Clock::now();
    stream.push_video_frame(rgb.data(), kWidth, kHeight, pts);
    if (auto s = stream.poll())
      r.latency_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    ++frames;
  }
  r.frames_per_second = static_cast<double>(frames) / std::chrono::duration<double>(Clock::now() - start).count();
  return r;
}

// Frames a second the stream takes in at 29.97 fps, over `frames` frames.
double throughput(const hl::HighlightDetector& detector, int64_t frames) {
  hl::HighlightStream stream = detector.stream({30000, 1001}, 16000);
  std::vector<uint8_t> rgb(static_cast<size_t>(kWidth) * kHeight * 3, 90);
  std::vector<float> chunk(534, 0.01f);
  const auto start = Clock::now();
  for (int64_t k = 0; k < frames; ++k) {
    const int64_t pts = (k * 1001 * 1000000 + 15000) / 30000;
    stream.push_audio(chunk.data(), chunk.size(), k * static_cast<int64_t>(chunk.size()) * 1000000 / 16000);
    rgb[static_cast<size_t>(k)] ^= 1;
    stream.push_video_frame(rgb.data(), kWidth, kHeight, pts);
    while (stream.poll()) {
    }
  }
  return static_cast<double>(frames) / std::chrono::duration<double>(Clock::now() - start).count();
}

void report(const char* name, const Result& r, const char* how) {
  std::printf("%-16s latency last frame -> score over %zu segments (%s): p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", name,
              r.latency_ms.size(), how, percentile(r.latency_ms, 0.5), percentile(r.latency_ms, 0.99),
              *std::max_element(r.latency_ms.begin(), r.latency_ms.end()));
}

}  // namespace

int main(int argc, char** argv) {
  int64_t segments = 200, visual_segments = 12, visual_frames = 60;
  std::string write_dir;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--segments" && has_value) segments = std::stoll(argv[++i]);
    else if (a == "--visual-segments" && has_value) visual_segments = std::stoll(argv[++i]);
    else if (a == "--visual-frames" && has_value) visual_frames = std::stoll(argv[++i]);
    else if (a == "--write-models" && has_value) write_dir = argv[++i];
    else {
      std::fprintf(stderr, "usage: hl-bench-stream [--segments N] [--visual-segments N] [--visual-frames N] | --write-models DIR\n");
      return 2;
    }
  }
  try {
    if (!write_dir.empty()) {
      write_models(write_dir);
      return 0;
    }
    const fs::path dir = fs::temp_directory_path() / ("hl-bench-stream." + std::to_string(::getpid()));
    write_models(dir);
    {
      const hl::HighlightDetector mfcc((dir / "mfcc.safetensors").string());
      const Result r = run(mfcc, {30000, 1001}, segments);
      report("mfcc", r, "720p frames at 29.97 fps");
      std::printf("%-16s stream takes in %.0f frames/s (720p, 29.97-fps timestamps, audio included)\n", "mfcc",
                  r.frames_per_second);
    }
    if (visual_segments > 0) {
      hl::DetectorOptions options;
      options.weights_dir = (dir / "weights").string();
      const hl::HighlightDetector visual((dir / "googlenet-mfcc.safetensors").string(), options);
      report("googlenet+mfcc", run(visual, {1, 1}, visual_segments), "720p frames at 1 fps");
      std::printf("%-16s stream takes in %.2f frames/s (720p, 29.97-fps timestamps, over %lld frames)\n",
                  "googlenet+mfcc", throughput(visual, visual_frames), static_cast<long long>(visual_frames));
    }
    std::error_code ec;
    fs::remove_all(dir, ec);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hl-bench-stream: %s\n", e.what());
    return 1;
  }
  return 0;
}
