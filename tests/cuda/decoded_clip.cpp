#include "cuda/decoded_clip.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numbers>

#include "engine/error.h"

namespace hl::test {

namespace fs = std::filesystem;

static_assert(std::endian::native == std::endian::little, "audio.f32 is read as little-endian f32");

namespace {

constexpr int64_t kMaxSide = 8192, kMaxFrames = 100'000;
constexpr int64_t kMaxBytes = int64_t{2} << 30;  // a test clip, not a film

int64_t integer_field(const nlohmann::json& j, const std::string& path, const char* name, int64_t lo, int64_t hi) {
  if (!j.contains(name)) throw FormatError(path, std::string("has no \"") + name + "\"");
  const nlohmann::json& v = j.at(name);
  if (!v.is_number_integer()) throw FormatError(path, std::string("\"") + name + "\" is not an integer");
  const int64_t n = v.get<int64_t>();
  if (n < lo || n > hi)
    throw FormatError(path, std::string("\"") + name + "\" is " + std::to_string(n) + ", outside [" +
                                std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return n;
}

// Reads exactly `expected` bytes from `path`, or says how many it has.
std::vector<uint8_t> read_exact(const std::string& path, int64_t expected, const std::string& what) {
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) throw FormatError(path, "cannot be read: " + ec.message());
  if (static_cast<int64_t>(size) != expected)
    throw FormatError(path, std::string(static_cast<int64_t>(size) < expected ? "is truncated" : "is too long") +
                                ": it has " + std::to_string(size) + " bytes, " + what + " need " +
                                std::to_string(expected));
  std::vector<uint8_t> bytes(static_cast<size_t>(expected));
  std::ifstream f(path, std::ios::binary);
  if (!f || !f.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size())))
    throw FormatError(path, "cannot be read");
  return bytes;
}

void write_bytes(const std::string& path, const void* data, size_t n) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
  if (!f) throw Error("cannot write " + path);
}

}  // namespace

DecodedClip read_decoded_clip(const std::string& dir) {
  const std::string json_path = (fs::path(dir) / "clip.json").string();
  std::ifstream in(json_path);
  if (!in) throw FormatError(json_path, "cannot be opened (is " + dir + " a decoded clip folder?)");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(json_path, std::string("is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) throw FormatError(json_path, "is not a JSON object");
  if (!j.contains("format") || j.at("format") != "hl-decoded-clip")
    throw FormatError(json_path, "is not an hl decoded clip (\"format\" must be \"hl-decoded-clip\")");
  if (integer_field(j, json_path, "version", 1, 1) != 1) throw FormatError(json_path, "unknown version");
  DecodedClip c;
  c.width = integer_field(j, json_path, "width", 1, kMaxSide);
  c.height = integer_field(j, json_path, "height", 1, kMaxSide);
  c.frames = integer_field(j, json_path, "frames", 1, kMaxFrames);
  c.fps_num = integer_field(j, json_path, "fps_num", 1, 1'000'000'000);
  c.fps_den = integer_field(j, json_path, "fps_den", 1, 1'000'000'000);
  c.sample_rate = integer_field(j, json_path, "sample_rate", 1, 1'000'000);
  if (c.sample_rate != 16000)
    throw FormatError(json_path, "\"sample_rate\" is " + std::to_string(c.sample_rate) +
                                     "; the MFCC needs 16000 Hz (remake the clip with -ar 16000)");
  const int64_t samples = integer_field(j, json_path, "samples", 1, kMaxBytes / 4);
  const int64_t rgb_bytes = c.frames * c.height * c.width * 3;
  if (rgb_bytes > kMaxBytes) throw FormatError(json_path, "describes more than 2 GiB of frames");

  const std::string frames_path = (fs::path(dir) / "frames.rgb").string();
  c.rgb = read_exact(
      frames_path, rgb_bytes,
      std::to_string(c.frames) + " frames of " + std::to_string(c.width) + "x" + std::to_string(c.height) + " RGB24");
  const std::string audio_path = (fs::path(dir) / "audio.f32").string();
  const std::vector<uint8_t> audio = read_exact(audio_path, samples * 4, std::to_string(samples) + " f32 samples");
  c.audio.resize(static_cast<size_t>(samples));
  std::memcpy(c.audio.data(), audio.data(), audio.size());
  for (size_t i = 0; i < c.audio.size(); ++i)
    if (!std::isfinite(c.audio[i])) throw FormatError(audio_path, "sample " + std::to_string(i) + " is not finite");
  return c;
}

void write_decoded_clip(const std::string& dir, const DecodedClip& c) {
  const nlohmann::json j = {{"format", "hl-decoded-clip"},
                            {"version", 1},
                            {"width", c.width},
                            {"height", c.height},
                            {"frames", c.frames},
                            {"fps_num", c.fps_num},
                            {"fps_den", c.fps_den},
                            {"sample_rate", c.sample_rate},
                            {"samples", static_cast<int64_t>(c.audio.size())}};
  const std::string text = j.dump(1) + "\n";
  write_bytes((fs::path(dir) / "clip.json").string(), text.data(), text.size());
  write_bytes((fs::path(dir) / "frames.rgb").string(), c.rgb.data(), c.rgb.size());
  write_bytes((fs::path(dir) / "audio.f32").string(), c.audio.data(), c.audio.size() * sizeof(float));
}

DecodedClip generated_clip(int64_t width, int64_t height, double seconds) {
  DecodedClip c;
  c.width = width, c.height = height;
  c.frames =
      std::max<int64_t>(1, std::llround(seconds * static_cast<double>(c.fps_num) / static_cast<double>(c.fps_den)));
  c.rgb.resize(static_cast<size_t>(c.frames * height * width * 3));
  const int64_t side = std::max<int64_t>(2, height / 3);
  for (int64_t t = 0; t < c.frames; ++t) {
    const int64_t sx = (5 * t) % width, sy = (3 * t) % height;  // the square's corner moves
    for (int64_t y = 0; y < height; ++y)
      for (int64_t x = 0; x < width; ++x) {
        uint8_t* px = &c.rgb[static_cast<size_t>(((t * height + y) * width + x) * 3)];
        const bool square = x >= sx && x < sx + side && y >= sy && y < sy + side;
        const bool stripe = ((x + 2 * t) / 6) % 2 == 0;  // vertical stripes scrolling left
        px[0] = static_cast<uint8_t>(square ? 250 : (255 * x) / std::max<int64_t>(1, width - 1));
        px[1] = static_cast<uint8_t>(square ? 240 : (255 * y) / std::max<int64_t>(1, height - 1));
        px[2] = static_cast<uint8_t>(square ? 30 : stripe ? 200 : 40 + (7 * t) % 60);
      }
  }
  const double pi = std::numbers::pi;
  const auto samples = static_cast<size_t>(std::llround(seconds * static_cast<double>(c.sample_rate)));
  c.audio.resize(samples);
  for (size_t i = 0; i < samples; ++i) {
    const double time = static_cast<double>(i) / static_cast<double>(c.sample_rate);
    const double f0 = 180.0 + 40.0 * std::sin(2 * pi * 0.7 * time);                    // a gliding pitch
    const double envelope = 0.2 + 0.8 * std::max(0.0, std::sin(2 * pi * 2.1 * time));  // syllables
    double v = 0;
    for (int h = 1; h <= 8; ++h) v += std::sin(2 * pi * f0 * h * time) / h;
    c.audio[i] = static_cast<float>(0.25 * envelope * v);
  }
  return c;
}

}  // namespace hl::test
