// Scores a video twice with hl's embedding API (docs/embedding.md): as a file
// (score_file), and as a live stream of frames and audio decoded here by the ffmpeg
// command line (as a product would push what its own decoder or camera gives), polling
// each segment's score as soon as it is complete. Prints both and whether they agree.
//
//   embed_example MODEL VIDEO [--weights DIR]
#include <hl/highlights.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

namespace {

// Runs a shell command and reads its standard output as it comes.
struct Pipe {
  explicit Pipe(const std::string& command) : f(popen(command.c_str(), "r")) {
    if (!f) throw std::runtime_error("cannot run: " + command);
  }
  ~Pipe() {
    if (f) pclose(f);
  }
  bool read(void* dst, size_t n) { return std::fread(dst, 1, n, f) == n; }
  FILE* f;
};

std::string quoted(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && argc != 5) {
    std::fprintf(stderr, "usage: embed_example MODEL VIDEO [--weights DIR]\n");
    return 2;
  }
  try {
    hl::DetectorOptions options;
    if (argc == 5) options.weights_dir = argv[4];
    const hl::HighlightDetector detector(argv[1], options);
    const std::string video = argv[2];

    // 1. The whole file.
    const std::vector<float> file_scores = detector.score_file(video);
    std::printf("score_file: %zu segments\n", file_scores.size());

    // 2. A stream: the frame size from ffprobe, frames at the model's feature rate and
    // 16-kHz mono audio from ffmpeg.
    int width = 0, height = 0;
    {
      Pipe probe("ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=p=0:s=x " +
                 quoted(video));
      if (std::fscanf(probe.f, "%dx%d", &width, &height) != 2) throw std::runtime_error(video + ": no video size");
    }
    const hl::VideoRate rate = detector.feature_rate();
    const std::string fps = std::to_string(rate.num) + "/" + std::to_string(rate.den);
    Pipe frames("ffmpeg -v error -nostdin -i " + quoted(video) + " -map 0:v:0 -vf fps=" + fps +
                " -f rawvideo -pix_fmt rgb24 -");
    Pipe audio("ffmpeg -v error -nostdin -i " + quoted(video) + " -map 0:a:0? -ac 1 -ar 16000 -f f32le -");

    hl::HighlightStream stream = detector.stream(rate, 16000);
    std::vector<uint8_t> rgb(static_cast<size_t>(width) * height * 3);
    std::vector<float> samples(16000 / 10);  // 0.1 s of audio a push
    int64_t audio_pushed = 0;
    std::vector<hl::SegmentScore> stream_scores;
    for (int64_t k = 0; frames.read(rgb.data(), rgb.size()); ++k) {
      const int64_t pts_us = (k * rate.den * 1000000 + rate.num / 2) / rate.num;
      // Keep the audio 0.1 s ahead of the frames, as a player's buffers would.
      while (audio_pushed * 1000000 / 16000 < pts_us + 100000 && audio.read(samples.data(), samples.size() * 4)) {
        stream.push_audio(samples.data(), samples.size(), audio_pushed * 1000000 / 16000);
        audio_pushed += static_cast<int64_t>(samples.size());
      }
      stream.push_video_frame(rgb.data(), width, height, pts_us);
      while (auto s = stream.poll()) {
        std::printf("stream: segment %lld (%.0f-%.0f s) score %.6f, after frame %lld\n",
                    static_cast<long long>(s->segment), s->start_seconds, s->end_seconds, s->score,
                    static_cast<long long>(k));
        stream_scores.push_back(*s);
      }
    }
    size_t n = 0;
    while ((n = std::fread(samples.data(), 4, samples.size(), audio.f)) > 0) {
      stream.push_audio(samples.data(), n, audio_pushed * 1000000 / 16000);
      audio_pushed += static_cast<int64_t>(n);
    }
    for (const hl::SegmentScore& s : stream.finish()) stream_scores.push_back(s);

    // 3. Compare: the stream's scores are the file's up to the last bits (docs/embedding.md).
    bool agree = stream_scores.size() == file_scores.size();
    for (size_t i = 0; agree && i < file_scores.size(); ++i)
      agree = std::abs(stream_scores[i].score - file_scores[i]) <= 1e-5f;
    for (size_t i = 0; i < file_scores.size(); ++i)
      std::printf("segment %zu: file %.6f stream %.6f\n", i, file_scores[i],
                  i < stream_scores.size() ? stream_scores[i].score : NAN);
    std::printf(agree ? "embed: ok\n" : "embed: the stream's scores differ from the file's\n");
    return agree ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "embed_example: error: %s\n", e.what());
    return 1;
  }
}
