// Decoding throughput: engine/media's VideoReader turning a 720p H.264 file into RGB
// frames at 30000/1001 fps by timestamps (what hl-extract feeds the visual networks),
// against the ffmpeg command line doing the same work
// (-vf setpts=PTS-STARTPTS,fps=30000/1001:round=up,format=rgb24 to rawvideo), both with
// one decoder thread (bench/peers/ffmpeg_decode.py). The video is $HL_BENCH_VIDEO when
// set (bench/run-cpu.sh makes one file for both sides), else made here once with the
// ffmpeg command line: testsrc2 1280x720, 30 fps, 10 s, libx264 veryfast.
// Only in builds with FFmpeg.
#include <benchmark/benchmark.h>

#if HL_HAVE_FFMPEG
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "engine/media/media.h"

namespace {

std::string bench_video() {
  if (const char* env = std::getenv("HL_BENCH_VIDEO"); env && *env) return env;
  static const std::string path = [] {
    const std::string p = (std::filesystem::temp_directory_path() / "hl-bench-decode-720p.mp4").string();
    if (!std::filesystem::exists(p)) {
      const std::string cmd = std::string(HL_FFMPEG_CLI) +
                              " -hide_banner -loglevel error -nostdin -y -f lavfi -i testsrc2=size=1280x720:rate=30:"
                              "duration=10 -c:v libx264 -preset veryfast -pix_fmt yuv420p '" + p + "'";
      if (std::system(cmd.c_str()) != 0) return std::string();
    }
    return p;
  }();
  return path;
}

void BM_decode_720p(benchmark::State& state) {
  const std::string path = bench_video();
  if (path.empty()) {
    state.SkipWithError("could not make the benchmark video with the ffmpeg command line");
    return;
  }
  int64_t frames = 0;
  for (auto _ : state) {
    hl::media::VideoOptions o;  // 30000/1001, each frame at its own size, rgb24
    o.limits.decoder_threads = 1;
    hl::media::VideoReader reader(path, o);
    hl::media::VideoFrame f;
    while (reader.next(&f)) {
      benchmark::DoNotOptimize(f.rgb.raw());
      ++frames;
    }
  }
  state.counters["frames/s"] = benchmark::Counter(static_cast<double>(frames), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_decode_720p)->Unit(benchmark::kMillisecond);  // compare.py reads real_time (the decoding runs in its own thread)

}  // namespace
#endif
